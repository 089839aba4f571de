//go:build !linux

package creators

import "time"

// Set is false for every array: npshm needs Linux.
type Set struct{}

// Alive is false: npshm needs Linux.
func (s *Set) Alive(pid int, created time.Time) bool { return false }

// Alive is false: npshm needs Linux.
func Alive(pid int, created time.Time) bool { return false }
