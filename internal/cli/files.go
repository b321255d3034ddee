package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/dsqlenv/dsqlenv/internal/roots"
	"github.com/dsqlenv/dsqlenv/internal/safefile"
	"github.com/dsqlenv/dsqlenv/pgfile"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// Where dsqlenv's files and sockets are, shared by the commands that write, read or report
// them.

// amazonRootPath is where the bundled roots are written: one name for as long as the bundle
// holds Amazon's roots, since service files and shells keep the path.
func (r *run) amazonRootPath() string {
	return filepath.Join(r.Paths.DataHome, "dsqlenv", "AmazonRootCAs.pem")
}

// stageAmazonRoot writes the bundled roots, once the command has succeeded and before its
// own files (a precondition: a service file must never name a roots file that could not be
// written), when the file is missing or different: atomically, world-readable, and never
// through a link or into a directory someone else can write (pgfile.Replace).
func (r *run) stageAmazonRoot() {
	path := r.amazonRootPath()
	r.stagePrecondition("amazon-root", func() (func(), error) {
		// Checked before the file is written, not at every run: parsing four certificates
		// costs a tenth of a block's instructions (make bench).
		undo, err := pgfile.Replace(path, roots.PEM, 0o644, roots.Check)
		if err != nil {
			return nil, fmt.Errorf("writing the Amazon root CAs: %v", err)
		}
		return undo, nil
	})
}

// rootCertFor is the sslrootcert value for a connection: `amazon` (the default) becomes the
// bundled roots' file, an absolute path, which every libpq reads; and so does `system` for
// Windows shells, because psql on Windows fails sslrootcert=system with "SSL error:
// unregistered scheme" (AWS DSQL documentation). It writes nothing: when the value is the
// bundled file, the session says so (needsRoots) and the command that writes the session out
// stages the file (stageRoots), so it is written only if that command succeeds.
func (r *run) rootCertFor(s *session, windows bool) string {
	conn := s.conn
	switch {
	case conn.SSLRootCert == profiles.RootAmazon:
	case conn.SSLRootCert == profiles.RootSystem && windows:
		s.rootsNote = fmt.Sprintf("note: sslrootcert system is written as %s (the bundled Amazon roots) for Windows psql, which cannot use system (\"SSL error: unregistered scheme\")", r.amazonRootPath())
	default:
		return conn.SSLRootCert
	}
	s.needsRoots = true
	return r.amazonRootPath()
}

// stageRoots stages what the sessions' output names: the bundled roots file, and the note that
// Windows gets it for system.
func (r *run) stageRoots(sessions ...*session) {
	for _, s := range sessions {
		if s.needsRoots {
			r.stageAmazonRoot()
		}
		if s.rootsNote != "" {
			r.note("system-note", s.rootsNote)
		}
	}
}

// passFilePath is PGPASSFILE or dsqlenv's own file, not ~/.pgpass: the tokens expire, and a
// file of expiring lines is best kept apart from passwords a user maintains by hand.
func (r *run) passFilePath() string {
	if r.Getenv("PGPASSFILE") != "" {
		return r.libpqPassFile()
	}
	return filepath.Join(r.Paths.StateHome, "dsqlenv", "pgpass")
}

// lockDir holds the lock files of dsqlenv's writes (pgfile.Edit), in the state directory: every
// dsqlenv of the user must find the same one, and XDG_RUNTIME_DIR is set in a login session or
// a systemd unit but not under cron or su, where a lock there would miss the other's.
func (r *run) lockDir() string {
	return filepath.Join(r.Paths.StateHome, "dsqlenv", "locks")
}

// serviceFilePath is libpq's per-user service file: PGSERVICEFILE, else
// %APPDATA%\postgresql\.pg_service.conf on Windows and ~/.pg_service.conf elsewhere
// (PostgreSQL documentation, "The Connection Service File").
func (r *run) serviceFilePath() string {
	if p := r.Getenv("PGSERVICEFILE"); p != "" {
		return p
	}
	if r.GOOS == "windows" {
		return r.Getenv("APPDATA") + `\postgresql\.pg_service.conf`
	}
	return filepath.Join(r.Paths.Home, ".pg_service.conf")
}

// socketPath is the profile's socket directory: $XDG_RUNTIME_DIR/dsqlenv/PROFILE, else
// $XDG_STATE_HOME/dsqlenv/run/PROFILE, else, when the socket's path would pass the limit,
// /tmp/dsqlenv-UID/PROFILE. The proxy and service --proxy both read it here.
func (r *run) socketPath(profile string) string {
	base := r.Getenv("XDG_RUNTIME_DIR")
	if !filepath.IsAbs(base) {
		base = filepath.Join(r.Paths.StateHome, "dsqlenv", "run")
	} else {
		base = filepath.Join(base, "dsqlenv")
	}
	dir := filepath.Join(base, profile)
	if len(filepath.Join(dir, ".s.PGSQL.5432")) > maxSocketPath {
		dir = filepath.Join(tmpSocketParent(), profile)
	}
	return dir
}

// tmpSocketParent is the short fallback parent of the socket directories, in /tmp.
func tmpSocketParent() string {
	return filepath.Join(os.TempDir(), "dsqlenv-"+strconv.Itoa(os.Getuid()))
}

// socketDir is socketPath, made 0700 when missing (and closed to others when present but
// open). It must be a directory, not a link to one; proxy.ListenUnix checks that it is the
// user's own.
func (r *run) socketDir(profile string) (string, error) {
	dir := r.socketPath(profile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	st, err := os.Lstat(dir)
	switch {
	case err != nil:
		return "", err
	case !st.IsDir():
		return "", fmt.Errorf("socket directory %s is %s, not a directory", dir, safefile.Kind(st.Mode()))
	case st.Mode().Perm()&0o077 != 0:
		if err := os.Chmod(dir, 0o700); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// maxRootCertFile bounds an sslrootcert file doctor reads: a system bundle of every public
// root is about 200 KB.
const maxRootCertFile = 4 << 20

// libpqPassFile is the password file libpq reads by default: PGPASSFILE, else ~/.pgpass
// (%APPDATA%\postgresql\pgpass.conf on Windows). libpq takes PGPASSFILE as it is: no ~
// expanded, a relative path from the program's working directory.
func (r *run) libpqPassFile() string {
	if p := r.Getenv("PGPASSFILE"); p != "" {
		return p
	}
	if r.GOOS == "windows" {
		return filepath.Join(r.Getenv("APPDATA"), "postgresql", "pgpass.conf")
	}
	return filepath.Join(r.Paths.Home, ".pgpass")
}
