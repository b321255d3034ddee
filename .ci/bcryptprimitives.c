/*
 * bcryptprimitives.dll for the Windows test run under wine (.ci/wine builds it into the
 * repository's wine prefix). Test tooling only: it never ships.
 *
 * Go 1.24 and later read random bytes through ProcessPrng from bcryptprimitives.dll
 * (src/runtime/os_windows.go), and a Go program without it dies at start-up with "fatal
 * error: bcryptprimitives.dll not found". Debian 12's wine 8 has no such DLL. This one
 * supplies ProcessPrng over RtlGenRandom (SystemFunction036 in advapi32), which wine 8 has;
 * both fill a buffer from the system's CSPRNG.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
	while (length > 0) {
		ULONG n = length > 0x40000000 ? 0x40000000 : (ULONG)length;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		length -= n;
	}
	return TRUE;
}
