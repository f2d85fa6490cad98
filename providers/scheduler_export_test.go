package providers

import "context"

// ReloadSchedules runs one reload of s, as its periodic timer does, for the
// idle-cost benchmark.
func ReloadSchedules(ctx context.Context, s *Scheduler) error { return s.reload(ctx) }
