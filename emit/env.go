package emit

import (
	"encoding/json"
	"runtime"
	"strings"
	"unicode"
)

type env struct{}
type jsonObject struct{}

// Env renders `NAME=value` lines for `docker run --env-file` and systemd's EnvironmentFile=.
// It carries no unsets: such files only set variables.
var Env Shell = env{}

// JSON renders one object, in order, for programs.
var JSON Shell = jsonObject{}

// CheckEnvValue says whether value means the same to both readers of an env file. Docker takes
// everything after the first `=` literally (docker run --env-file reference); systemd strips
// surrounding whitespace and interprets quotes and backslashes (systemd.exec, EnvironmentFile=).
// A value holding neither quote nor backslash, and with no whitespace at either end, reads the
// same in both, so anything else is refused rather than written ambiguously. On Windows, where
// systemd does not run, docker is the one reader and a backslash is taken as it is: every
// Windows path holds one (the profiles file's, the bundled roots').
func CheckEnvValue(name, value string) error {
	if strings.ContainsAny(value, envRefused()) {
		return &ValueError{"env", name, "holds a quote or a backslash, which docker and systemd read differently"}
	}
	if value != strings.TrimFunc(value, unicode.IsSpace) {
		return &ValueError{"env", name, "starts or ends with white space, which systemd strips"}
	}
	return nil
}

// envRefused is what an env file's value may not hold here (see CheckEnvValue).
func envRefused() string {
	if runtime.GOOS == "windows" {
		return `"'`
	}
	return `"'\`
}

func (env) Render(b Block) ([]byte, error) {
	return render("env", "\n", nil, b.Set, func(v Var) (string, error) {
		if err := CheckEnvValue(v.Name, v.Value); err != nil {
			return "", err
		}
		return v.Name + "=" + v.Value, nil
	})
}

func (jsonObject) Render(b Block) ([]byte, error) {
	var sb strings.Builder
	sb.WriteString("{")
	for i, v := range b.Set {
		if err := checkLine("json", v); err != nil {
			return nil, err
		}
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString("\n  ")
		sb.WriteString(jsonString(v.Name))
		sb.WriteString(": ")
		sb.WriteString(jsonString(v.Value))
	}
	sb.WriteString("\n}\n")
	return []byte(sb.String()), nil
}

// jsonString encodes s as a JSON string without HTML escaping, so a token's `&` stays `&`.
func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // encoding a string cannot fail
	return strings.TrimSuffix(b.String(), "\n")
}
