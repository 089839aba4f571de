package main

import (
	"fmt"
	"io/fs"
	"os/user"
	"strconv"
	"time"

	"github.com/npshm/npshm"
	"github.com/npshm/npshm/internal/creators"
)

// record is what list and info show of an array, and what --json writes.
type record struct {
	Name         string    `json:"name"`
	Format       string    `json:"format"`
	Dtype        string    `json:"dtype"`
	Shape        []int     `json:"shape"`
	Itemsize     int       `json:"itemsize"`
	Nbytes       int       `json:"nbytes"`
	Fortran      bool      `json:"fortran"`
	Mode         string    `json:"mode"`
	UID          int       `json:"uid"`
	Owner        string    `json:"owner"`
	CreatorPID   int       `json:"creator_pid"`
	CreatorAlive bool      `json:"creator_alive"`
	Created      time.Time `json:"created"`
	AgeSeconds   float64   `json:"age_seconds"`
}

// newRecord describes an array; alive judges its creator (one Set for a listing: one look at each
// creator). A peer's segment (format other than npshm) records no creator and no creation time:
// they show as "-".
func newRecord(name string, format npshm.Format, dtype string, shape []int, itemsize, nbytes int, fortran bool,
	mode fs.FileMode, uid, creator int, created, now time.Time, alive *creators.Set) record {
	if format != npshm.FormatNpshm {
		return record{
			Name: name, Format: format.String(), Dtype: dtype, Shape: append([]int{}, shape...), Itemsize: itemsize,
			Nbytes: nbytes, Fortran: fortran, Mode: modeString(mode), UID: uid, Owner: owner(uid), Created: created,
		}
	}
	return record{
		Name: name, Format: format.String(), Dtype: dtype, Shape: append([]int{}, shape...), Itemsize: itemsize,
		Nbytes: nbytes, Fortran: fortran, Mode: modeString(mode), UID: uid, Owner: owner(uid), CreatorPID: creator,
		CreatorAlive: alive.Alive(creator, created), Created: created, AgeSeconds: now.Sub(created).Seconds(),
	}
}

func (r record) creator() string {
	if r.Format != npshm.FormatNpshm.String() {
		return "-"
	}
	if r.CreatorAlive {
		return strconv.Itoa(r.CreatorPID) + " (alive)"
	}
	return strconv.Itoa(r.CreatorPID) + " (dead)"
}

func modeString(m fs.FileMode) string { return fmt.Sprintf("%04o", uint32(m.Perm())) }

// humanBytes writes a size in bytes with a binary unit: 240 B, 1.5 KiB, 8.0 MiB.
func humanBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, unit := float64(n)/1024, 0
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	for v >= 1024 && unit < len(units)-1 {
		v /= 1024
		unit++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[unit]
}

// humanAge writes a duration in its largest whole unit: 42s, 7m, 3h, 12d.
func humanAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s" // created by a clock ahead of ours
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d"
}

var owners = map[int]string{}

// owner is the user name of uid, or the number if it has none.
func owner(uid int) string {
	if name, ok := owners[uid]; ok {
		return name
	}
	name := strconv.Itoa(uid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	owners[uid] = name
	return name
}

func (r record) age() string {
	if r.Format != npshm.FormatNpshm.String() {
		return "-"
	}
	return humanAge(time.Duration(r.AgeSeconds * 1e9))
}

func (r record) created() string {
	if r.Format != npshm.FormatNpshm.String() {
		return "-"
	}
	return r.Created.Format(time.RFC3339)
}
