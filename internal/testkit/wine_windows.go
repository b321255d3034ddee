package testkit

import (
	"testing"

	"golang.org/x/sys/windows"
)

// SkipUnderWine skips a Windows test that wine cannot judge, saying why. wine's ntdll
// exports wine_get_version; Windows' does not.
func SkipUnderWine(t testing.TB, why string) {
	t.Helper()
	if underWine() {
		t.Skip("not under wine: " + why)
	}
}

func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
