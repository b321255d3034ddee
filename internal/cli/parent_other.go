//go:build !linux

package cli

// ParentName is unknown here: only Linux tells a process's name without a library or a
// subprocess, and the hint it feeds is a convenience.
func ParentName() string { return "" }
