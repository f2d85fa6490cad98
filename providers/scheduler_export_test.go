package providers

import "context"

// ReloadSchedules runs one reload of s, as its periodic timer does, for the
// idle-cost benchmark.
func ReloadSchedules(ctx context.Context, s *Scheduler) error { return s.reload(ctx) }

// VaultChanged runs one periodic look at the vault's files, for the idle-cost
// benchmark: true when they changed since the last reload.
func VaultChanged(s *Scheduler) bool { return s.vaultChanged() }
