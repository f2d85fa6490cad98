package providers

// SetTestHooks installs the Refresher's test hooks: onJoin runs when a caller
// joins a refresh in flight, onLeaseBusy when the lease is held by another owner.
func SetTestHooks(r *Refresher, onJoin, onLeaseBusy func()) {
	r.onJoin, r.onLeaseBusy = onJoin, onLeaseBusy
}
