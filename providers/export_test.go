package providers

import "time"

// SetTestHooks installs the Refresher's test hooks: onJoin runs when a caller
// joins a refresh in flight, onLeaseBusy when the lease is held by another owner.
func SetTestHooks(r *Refresher, onJoin, onLeaseBusy func()) {
	r.onJoin, r.onLeaseBusy = onJoin, onLeaseBusy
}

// SetPersistTimeout sets how long saving a refresh's result may take, until
// the returned func restores it.
func SetPersistTimeout(d time.Duration) (restore func()) {
	old := persistTimeout
	persistTimeout = d
	return func() { persistTimeout = old }
}
