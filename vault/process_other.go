//go:build !unix

package vault

// hostIdentity is the host name: PIDs are the host's.
func hostIdentity(hostname string) string { return hostname }

// processStart is unknown on this platform.
func processStart(int) int64 { return 0 }

// processGone cannot tell on this platform: leases lapse on their own.
func processGone(int, int64) bool { return false }
