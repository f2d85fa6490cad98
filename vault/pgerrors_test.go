package vault

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// retryable is an error that says whether it happened before the statement
// reached the server, as pgx's do (pgconn.SafeToRetry).
type retryable bool

func (r retryable) Error() string     { return "before the server saw it" }
func (r retryable) SafeToRetry() bool { return bool(r) }

// TestPostgresErrorsReadWithoutTheDriver: this package reads pgx's errors by
// their methods, without importing the driver (see vault/postgres): the
// server's codes, wrapped as database/sql and this package wrap them, and
// pgx's safe-to-retry mark, as pgconn.SafeToRetry reads it.
func TestPostgresErrorsReadWithoutTheDriver(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("put session: %w", err) }
	for _, tc := range []struct {
		err           error
		lost          bool
		mapsTo, retry error
	}{
		{err: wrap(&pgconn.PgError{Code: "23505"}), mapsTo: ErrDuplicateLabel},
		{err: wrap(&pgconn.PgError{Code: "23503"}), mapsTo: ErrNotFound},
		{err: wrap(&pgconn.PgError{Code: "57P01"}), lost: true},
		{err: wrap(&pgconn.PgError{Code: "08006"}), lost: true},
		{err: wrap(&pgconn.PgError{Code: "40001"})},
		{err: wrap(retryable(true)), lost: pgconn.SafeToRetry(retryable(true))},
		{err: wrap(retryable(false))},
	} {
		if got := pgConnLost(tc.err); got != tc.lost {
			t.Errorf("pgConnLost(%v) = %v, want %v", tc.err, got, tc.lost)
		}
		want := tc.mapsTo
		if want == nil {
			want = tc.err
		}
		if got := mapPostgresConstraint(tc.err); !errors.Is(got, want) {
			t.Errorf("mapPostgresConstraint(%v) = %v, want %v", tc.err, got, want)
		}
	}
}
