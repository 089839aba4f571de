//go:build linux && cgo

package capi

import "github.com/npshm/npshm/internal/core"

// The flags of include/npshm.h under their C names (NPSHM_READONLY is FlagReadOnly), for capi and
// its callers' tests (internal/ctwin/difftest). internal/core/spec.go is their one source, and has
// the masks that the entry points check flags against (core.CreateFlags, core.ReadFlags, ...).
const (
	FlagReadOnly          = core.FlagReadOnly
	FlagReplace           = core.FlagReplace
	FlagFortran           = core.FlagFortranArg // core.FlagFortran is the segment header's flag
	FlagNoReserve         = core.FlagNoReserve
	FlagHasMode           = core.FlagHasMode
	FlagFormatSharedArray = core.FlagFormatSharedArray
	FlagFormatCdxcore     = core.FlagFormatCdxcore
	FlagExclusive         = core.FlagExclusive
	FlagNpy               = core.FlagNpy
	FlagNpio              = core.FlagNpio
	FlagAcceptForeign     = core.FlagAcceptForeign
)
