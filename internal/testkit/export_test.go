package testkit

// SetReadySent makes every later session of d call f once its client can have read
// ReadyForQuery, before the double goes on.
func SetReadySent(d *DSQL, f func()) {
	d.mu.Lock()
	d.readySent = f
	d.mu.Unlock()
}
