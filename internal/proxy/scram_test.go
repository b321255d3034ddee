package proxy

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// scramRun runs the server side of SCRAM against a scripted client: first is the
// client-first-message, final makes the client-final-message from the server-first-message
// ("" : the client hangs up). It returns the server-final-message and the server's result.
func scramRun(t *testing.T, first string, final func(serverFirst string) string) (string, error) {
	t.Helper()
	creds, err := newScramCreds("secret-pw")
	if err != nil {
		t.Fatal(err)
	}
	client, server := net.Pipe()
	defer client.Close()
	client.SetDeadline(time.Now().Add(20 * time.Second))
	server.SetDeadline(time.Now().Add(20 * time.Second))
	errc := make(chan error, 1)
	go func() { errc <- creds.authenticate(server, "tester"); server.Close() }()

	fe := pgproto3.NewFrontend(client, client)
	var serverFinal string
	func() {
		msg, err := fe.Receive()
		if m, ok := msg.(*pgproto3.AuthenticationSASL); err != nil || !ok || len(m.AuthMechanisms) != 1 || m.AuthMechanisms[0] != "SCRAM-SHA-256" {
			t.Fatalf("first message: %#v, %v", msg, err)
		}
		fe.Send(&pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256", Data: []byte(first)})
		if fe.Flush() != nil {
			return
		}
		msg, err = fe.Receive()
		cont, ok := msg.(*pgproto3.AuthenticationSASLContinue)
		if err != nil || !ok {
			return
		}
		out := final(string(cont.Data))
		if out == "" {
			return
		}
		fe.Send(&pgproto3.SASLResponse{Data: []byte(out)})
		if fe.Flush() != nil {
			return
		}
		msg, err = fe.Receive()
		if fin, ok := msg.(*pgproto3.AuthenticationSASLFinal); err == nil && ok {
			serverFinal = string(fin.Data)
		}
	}()
	client.Close()
	return serverFinal, <-errc
}

// clientFinal computes a correct client-final-message (RFC 5802) for password.
func clientFinal(password, gs2, clientFirstBare, serverFirst string) (msg, serverSig string) {
	attrs := map[string]string{}
	for _, a := range strings.Split(serverFirst, ",") {
		attrs[a[:1]] = a[2:]
	}
	salt, _ := base64.StdEncoding.DecodeString(attrs["s"])
	iter, _ := strconv.Atoi(attrs["i"])
	salted, _ := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	mac := func(key []byte, s string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(s))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	without := "c=" + base64.StdEncoding.EncodeToString([]byte(gs2)) + ",r=" + attrs["r"]
	authMsg := clientFirstBare + "," + serverFirst + "," + without
	sig := mac(stored[:], authMsg)
	proof := make([]byte, 32)
	for i := range proof {
		proof[i] = clientKey[i] ^ sig[i]
	}
	return without + ",p=" + base64.StdEncoding.EncodeToString(proof),
		"v=" + base64.StdEncoding.EncodeToString(mac(mac(salted, "Server Key"), authMsg))
}

func wantCode(t *testing.T, name string, err error, code string) {
	t.Helper()
	var pe *pgError
	if !errors.As(err, &pe) || pe.Code != code {
		t.Errorf("%s: got %v; want SQLSTATE %s", name, err, code)
	}
}

func TestSCRAMServer(t *testing.T) {
	const bare = "n=,r=clientnonce123"
	good := func(pw string) (func(string) string, *string) {
		var sig string
		return func(sf string) string {
			msg, s := clientFinal(pw, "n,,", bare, sf)
			sig = s
			return msg
		}, &sig
	}

	f, sig := good("secret-pw")
	final, err := scramRun(t, "n,,"+bare, f)
	if err != nil || final != *sig {
		t.Errorf("right password: %v, server-final %q; want %q", err, final, *sig)
	}
	f, _ = good("wrong")
	_, err = scramRun(t, "n,,"+bare, f)
	wantCode(t, "wrong password", err, "28P01")
	if err != nil && err.Error() != `password authentication failed for user "tester" (SQLSTATE 28P01)` {
		t.Errorf("message: %v", err)
	}

	never := func(string) string { t.Error("the server went on"); return "" }
	wantCode(t, "channel binding", func() error { _, e := scramRun(t, "p=tls-server-end-point,,"+bare, never); return e }(), "08P01")
	wantCode(t, "authzid", func() error { _, e := scramRun(t, "n,a=bob,"+bare, never); return e }(), "0A000")
	wantCode(t, "bad flag", func() error { _, e := scramRun(t, "x,,"+bare, never); return e }(), "08P01")
	wantCode(t, "no nonce", func() error { _, e := scramRun(t, "n,,n=,r=", never); return e }(), "08P01")
	wantCode(t, "no header", func() error { _, e := scramRun(t, "n,", never); return e }(), "08P01")

	for name, mangle := range map[string]func(string) string{
		"wrong nonce":   func(m string) string { return strings.Replace(m, ",r=clientnonce123", ",r=othernonce", 1) },
		"wrong binding": func(m string) string { return strings.Replace(m, "c=biws", "c=eSws", 1) },
		"no proof":      func(m string) string { return m[:strings.LastIndex(m, ",p=")] },
		"short proof":   func(m string) string { return m[:strings.LastIndex(m, ",p=")] + ",p=AAAA" },
	} {
		f, _ := good("secret-pw")
		_, err := scramRun(t, "n,,"+bare, func(sf string) string { return mangle(f(sf)) })
		wantCode(t, name, err, "08P01")
	}

	// A client that hangs up is no refusal to report.
	_, err = scramRun(t, "n,,"+bare, func(string) string { return "" })
	var pe *pgError
	if err == nil || errors.As(err, &pe) {
		t.Errorf("client gone: %v", err)
	}
}
