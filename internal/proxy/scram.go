package proxy

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
)

// SCRAM-SHA-256 (RFC 5802, RFC 7677) on the server side, as PostgreSQL does it: no channel
// binding (no -PLUS: a TCP client may come without TLS), the user name in the SCRAM message ignored in favour of
// the startup packet's.

const (
	scramMechanism  = "SCRAM-SHA-256"
	scramIterations = 4096
)

// scramCreds is the local password in SCRAM's stored form.
type scramCreds struct {
	salt      []byte
	storedKey []byte
	serverKey []byte
}

func newScramCreds(password string) (*scramCreds, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	salted, err := pbkdf2.Key(sha256.New, password, salt, scramIterations, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("dsqlenv proxy: local password: %v", err)
	}
	clientKey := hmacSHA256(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	return &scramCreds{salt: salt, storedKey: stored[:], serverKey: hmacSHA256(salted, "Server Key")}, nil
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

func authFailed(user string) *pgError {
	return &pgError{Code: "28P01", Message: fmt.Sprintf("password authentication failed for user %q", user)}
}

func malformedSCRAM(what string) *pgError {
	return protocolViolation("malformed SCRAM message: %s", what)
}

// authenticate runs the SCRAM exchange with a client, up to and including
// AuthenticationSASLFinal. Refusals are *pgError; other errors are I/O errors.
func (cr *scramCreds) authenticate(c net.Conn, user string) error {
	if err := send(c, &pgproto3.AuthenticationSASL{AuthMechanisms: []string{scramMechanism}}); err != nil {
		return err
	}
	body, err := readMessage(c, 'p', maxAuthMessage)
	if err != nil {
		return err
	}
	var initial pgproto3.SASLInitialResponse
	if err := initial.Decode(body); err != nil {
		return protocolViolation("invalid SASLInitialResponse: %v", err)
	}
	if initial.AuthMechanism != scramMechanism {
		return protocolViolation("client selected an invalid SASL authentication mechanism")
	}
	clientFirst := string(initial.Data)

	// gs2-header: a channel-binding flag, an (unsupported) authzid, then the bare message.
	var gs2 string
	switch {
	case strings.HasPrefix(clientFirst, "n,"), strings.HasPrefix(clientFirst, "y,"):
	case strings.HasPrefix(clientFirst, "p="):
		return protocolViolation("channel binding is not offered on the local connection")
	default:
		return malformedSCRAM("unexpected channel-binding flag")
	}
	rest := clientFirst[2:]
	i := strings.IndexByte(rest, ',')
	if i < 0 {
		return malformedSCRAM("no authorization identity field")
	}
	if i > 0 {
		return &pgError{Code: "0A000", Message: "client uses authorization identity, but it is not supported"}
	}
	gs2, bare := clientFirst[:3], rest[1:]
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") {
		return malformedSCRAM("expected n= and r= attributes")
	}
	clientNonce := attrs[1][2:]
	if clientNonce == "" || !printable(clientNonce) {
		return malformedSCRAM("invalid client nonce")
	}

	sn := make([]byte, 18)
	rand.Read(sn)
	nonce := clientNonce + base64.StdEncoding.EncodeToString(sn)
	serverFirst := fmt.Sprintf("r=%s,s=%s,i=%d", nonce, base64.StdEncoding.EncodeToString(cr.salt), scramIterations)
	if err := send(c, &pgproto3.AuthenticationSASLContinue{Data: []byte(serverFirst)}); err != nil {
		return err
	}

	body, err = readMessage(c, 'p', maxAuthMessage)
	if err != nil {
		return err
	}
	clientFinal := string(body)
	j := strings.LastIndex(clientFinal, ",p=")
	if j < 0 {
		return malformedSCRAM("no proof")
	}
	withoutProof, proofB64 := clientFinal[:j], clientFinal[j+3:]
	fattrs := strings.Split(withoutProof, ",")
	if len(fattrs) < 2 || !strings.HasPrefix(fattrs[0], "c=") || !strings.HasPrefix(fattrs[1], "r=") {
		return malformedSCRAM("expected c= and r= attributes")
	}
	if cb, err := base64.StdEncoding.DecodeString(fattrs[0][2:]); err != nil || string(cb) != gs2 {
		return malformedSCRAM("unexpected channel-binding data")
	}
	if fattrs[1][2:] != nonce {
		return malformedSCRAM("nonce does not match")
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil || len(proof) != sha256.Size {
		return malformedSCRAM("invalid proof")
	}

	authMessage := bare + "," + serverFirst + "," + withoutProof
	clientSig := hmacSHA256(cr.storedKey, authMessage)
	clientKey := make([]byte, sha256.Size)
	subtle.XORBytes(clientKey, proof, clientSig)
	got := sha256.Sum256(clientKey)
	if subtle.ConstantTimeCompare(got[:], cr.storedKey) != 1 {
		return authFailed(user)
	}
	serverSig := hmacSHA256(cr.serverKey, authMessage)
	return send(c, &pgproto3.AuthenticationSASLFinal{Data: []byte("v=" + base64.StdEncoding.EncodeToString(serverSig))})
}

// printable reports whether s holds only printable ASCII other than ',' (RFC 5802's nonce).
func printable(s string) bool {
	return bytes.IndexFunc([]byte(s), func(r rune) bool { return r < 0x21 || r > 0x7e || r == ',' }) < 0
}
