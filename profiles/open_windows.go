//go:build windows

package profiles

// openNonblock: Windows has no FIFOs that block an open.
const openNonblock = 0
