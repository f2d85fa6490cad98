package common

import (
	"strconv"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// Failing reports whether a session's last refresh attempt failed while
// the session can still be refreshed: its row would otherwise look as
// healthy as its access token. A session that needs a login is counted as
// that instead; a refresh nobody waited for (cancelled) is not a failure.
func Failing(s vault.Session) bool {
	if s.NeedsLogin {
		return false
	}
	switch providers.Outcome(s.LastStatus) {
	case "", providers.OutcomeOK, providers.OutcomeCancelled, providers.OutcomeRecovered:
		return false
	}
	return true
}

// FailureClass names a failed attempt in at most four cells, for the row
// mark "⚠ 422": its HTTP status when known (status, 0 when not), else its
// outcome's class: "4xx" (rejected), "5xx" (server error), "net"
// (network error), "lost" (the answer never came back), "save" (new
// tokens not saved). A 2xx whose body was not what the provider promises
// is "bad". Outcomes are providers.Outcome values, as the vault keeps them.
func FailureClass(outcome string, status int) string {
	switch {
	case status >= 200 && status < 300:
		return "bad"
	case status >= 100 && status <= 999:
		return strconv.Itoa(status)
	}
	switch providers.Outcome(outcome) {
	case providers.OutcomeRejected:
		return "4xx"
	case providers.OutcomeServerError:
		return "5xx"
	case providers.OutcomeNetworkError:
		return "net"
	case providers.OutcomeInterrupted:
		return "lost"
	case providers.OutcomeNotSaved:
		return "save"
	}
	return "fail"
}
