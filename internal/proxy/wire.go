package proxy

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// The proxy reads what a client sends before the hand-over itself, with io.ReadFull on the
// connection, instead of through pgproto3.Backend: the Backend's reader buffers ahead, and
// bytes it took from the socket would be lost to the upstream once the session is spliced.
// The messages are decoded with pgproto3's types.

const (
	// maxStartupPacket is PostgreSQL's MAX_STARTUP_PACKET_LENGTH.
	maxStartupPacket = 10000
	// maxAuthMessage bounds a SASL message from a client.
	maxAuthMessage = 8192

	sslRequestCode    = 80877103
	gssEncRequestCode = 80877104
	cancelRequestCode = 80877102
)

// pgError is an error the client gets as an ErrorResponse.
type pgError struct {
	Severity string // FATAL when empty
	Code     string // SQLSTATE
	Message  string
	Detail   string
	Hint     string

	upstream *pgproto3.ErrorResponse // the server's own error, passed on whole
}

func (e *pgError) Error() string { return e.Message + " (SQLSTATE " + e.Code + ")" }

func (e *pgError) response() *pgproto3.ErrorResponse {
	if e.upstream != nil {
		return e.upstream
	}
	sev := e.Severity
	if sev == "" {
		sev = "FATAL"
	}
	return &pgproto3.ErrorResponse{Severity: sev, SeverityUnlocalized: sev, Code: e.Code, Message: e.Message, Detail: e.Detail, Hint: e.Hint}
}

// setHint sets the hint, in the server's own error too.
func (e *pgError) setHint(hint string) {
	e.Hint = hint
	if e.upstream != nil {
		e.upstream.Hint = hint
	}
}

func protocolViolation(format string, args ...any) *pgError {
	return &pgError{Code: "08P01", Message: fmt.Sprintf(format, args...)}
}

// startup is a client's first packet.
type startup struct {
	msg   pgproto3.FrontendMessage // *StartupMessage (version set to 3.0), *SSLRequest, *GSSEncRequest or *CancelRequest
	minor uint16                   // the minor protocol version a StartupMessage asked for
}

// readStartup reads one startup-phase packet. Malformed packets are *pgError.
func readStartup(r io.Reader) (startup, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return startup{}, err
	}
	n := int64(int32(binary.BigEndian.Uint32(hdr[:])))
	if n < 8 || n > maxStartupPacket {
		if hdr[0] == 0x16 && hdr[1] == 0x03 {
			return startup{}, protocolViolation("dsqlenv proxy: got a TLS handshake first; the proxy takes TLS only after an SSLRequest, and only over TCP (use sslnegotiation=postgres, libpq's default, not direct)")
		}
		return startup{}, protocolViolation("invalid length of startup packet")
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(r, body); err != nil {
		return startup{}, err
	}
	code := binary.BigEndian.Uint32(body)
	switch code {
	case sslRequestCode:
		if len(body) != 4 {
			return startup{}, protocolViolation("invalid length of SSLRequest")
		}
		return startup{msg: &pgproto3.SSLRequest{}}, nil
	case gssEncRequestCode:
		if len(body) != 4 {
			return startup{}, protocolViolation("invalid length of GSSENCRequest")
		}
		return startup{msg: &pgproto3.GSSEncRequest{}}, nil
	case cancelRequestCode:
		var m pgproto3.CancelRequest
		if err := m.Decode(body); err != nil {
			return startup{}, protocolViolation("invalid CancelRequest: %v", err)
		}
		return startup{msg: &m}, nil
	}
	major, minor := code>>16, uint16(code)
	if major != 3 {
		return startup{}, &pgError{Code: "0A000", Message: fmt.Sprintf("unsupported frontend protocol %d.%d: dsqlenv proxy supports 3.0", major, minor)}
	}
	binary.BigEndian.PutUint32(body, pgproto3.ProtocolVersion30)
	var m pgproto3.StartupMessage
	if err := m.Decode(body); err != nil {
		return startup{}, protocolViolation("invalid startup packet layout: %v", err)
	}
	return startup{msg: &m, minor: minor}, nil
}

// readMessage reads one typed message from a client, which must be of type want.
func readMessage(r io.Reader, want byte, max int) ([]byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	if hdr[0] != want {
		if hdr[0] == 'X' {
			return nil, io.EOF // Terminate: the client gave up
		}
		return nil, protocolViolation("expected message type %q, got %q", want, hdr[0])
	}
	n := int64(int32(binary.BigEndian.Uint32(hdr[1:])))
	if n < 4 || n-4 > int64(max) {
		return nil, protocolViolation("invalid message length %d", n)
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return body, nil
}

// messageReader reads a server's messages for a pgproto3.Frontend, never past the end of the
// message being read: the Frontend's reader buffers ahead, and what the server sent after its
// ReadyForQuery (a notice, say, in the same write) must stay in the connection for the
// hand-over, where it is passed on to the client.
type messageReader struct {
	r    io.Reader
	hdr  [5]byte
	nhdr int   // bytes of the header handed out; 0: the next message's header is still unread
	left int64 // bytes of the body still to hand out
}

func (m *messageReader) Read(p []byte) (int, error) {
	if m.nhdr == 0 {
		if _, err := io.ReadFull(m.r, m.hdr[:]); err != nil {
			return 0, err
		}
		if m.left = int64(int32(binary.BigEndian.Uint32(m.hdr[1:]))) - 4; m.left < 0 {
			return 0, fmt.Errorf("the server sent a message of invalid length %d", m.left+4)
		}
	}
	var n int
	var err error
	if m.nhdr < len(m.hdr) {
		n = copy(p, m.hdr[m.nhdr:])
		m.nhdr += n
	} else {
		n, err = m.r.Read(p[:min(int64(len(p)), m.left)])
		m.left -= int64(n)
	}
	if m.nhdr == len(m.hdr) && m.left == 0 {
		m.nhdr = 0
	}
	return n, err
}

// requestTLS asks a server for TLS with an SSLRequest, as libpq does without direct TLS.
func requestTLS(c net.Conn) error {
	buf, _ := (&pgproto3.SSLRequest{}).Encode(nil)
	if _, err := c.Write(buf); err != nil {
		return err
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return err
	}
	if b[0] != 'S' {
		return fmt.Errorf("the server does not take TLS (it answered %q to the SSLRequest)", b[0])
	}
	return nil
}

// send writes messages in one write, bounded in time.
func send(c net.Conn, msgs ...pgproto3.BackendMessage) error {
	var buf []byte
	for _, m := range msgs {
		var err error
		if buf, err = m.Encode(buf); err != nil {
			return err
		}
	}
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Write(buf)
	c.SetWriteDeadline(time.Time{})
	return err
}
