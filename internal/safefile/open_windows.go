//go:build windows

package safefile

// openNonblock: Windows has no FIFOs that block an open.
const openNonblock = 0
