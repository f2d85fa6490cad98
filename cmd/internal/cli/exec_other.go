//go:build !unix

package cli

import "os"

// forwardedSignals are the signals tokentop exec passes on to its child.
var forwardedSignals = []os.Signal{os.Interrupt}
