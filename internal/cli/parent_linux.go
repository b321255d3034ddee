package cli

import (
	"os"
	"strconv"
	"strings"
)

// ParentName is the command name of the process that started dsqlenv (its comm, as ps shows
// it), "" when unknown. It tells which shell evaluates a block: fish runs `eval (dsqlenv …)`
// itself, and bash and zsh fork a copy of themselves for `$(dsqlenv …)`.
func ParentName() string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(os.Getppid()) + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
