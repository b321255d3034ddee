package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// proxyLog is where the proxy's lines go: "dsqlenv: …" text lines on stderr, or with
// --log-format json one JSON object a line (log/slog) with the same fields, for a journal or
// a log shipper.
type proxyLog struct {
	r    *run
	json *slog.Logger // nil: text
}

func newProxyLog(r *run, format string) *proxyLog {
	l := &proxyLog{r: r}
	if format == "json" {
		l.json = slog.New(slog.NewJSONHandler(r.Stderr, nil))
	}
	return l
}

// say logs an event of the proxy's own (start, stop, how to connect).
func (l *proxyLog) say(format string, args ...any) {
	if l.json == nil {
		l.r.say(format, args...)
		return
	}
	l.json.Info(termSafe(fmt.Sprintf(format, args...)))
}

// session logs a line from the proxy package, "dsqlenv proxy: profile=p user="admin" …
// end="client closed"": as it is, or as a JSON object with a field for each key=value.
func (l *proxyLog) session(line string) {
	line = strings.TrimPrefix(line, "dsqlenv ")
	if l.json == nil {
		l.r.say("%s", line)
		return
	}
	l.json.LogAttrs(context.Background(), slog.LevelInfo, "session", logFields(strings.TrimPrefix(line, "proxy: "))...)
}

// logFields reads key=value fields, each value bare or Go-quoted; whole numbers become
// numbers (bare ones: a quoted value is a name), and text after the last field is a note. Values stay safe on a terminal.
func logFields(s string) []slog.Attr {
	var attrs []slog.Attr
	for s = strings.TrimLeft(s, " "); s != ""; s = strings.TrimLeft(s, " ") {
		key, rest, ok := strings.Cut(s, "=")
		if !ok || key == "" || strings.ContainsAny(key, " (\"") {
			attrs = append(attrs, slog.String("note", termSafe(s)))
			break
		}
		var value string
		q, err := strconv.QuotedPrefix(rest)
		quoted := err == nil
		if quoted {
			value, _ = strconv.Unquote(q)
			s = rest[len(q):]
		} else {
			value, s, _ = strings.Cut(rest, " ")
		}
		if n, err := strconv.ParseInt(value, 10, 64); err == nil && !quoted {
			attrs = append(attrs, slog.Int64(key, n))
			continue
		}
		attrs = append(attrs, slog.String(key, termSafe(value)))
	}
	return attrs
}
