package vault

import (
	"context"
	"fmt"
	"time"
)

// Listing is the hot path of the dashboard and of `tokentop ls`. With the
// modernc driver every column of every row costs about 0.2 µs (transpiled
// VM plus driver calls), so scanning the 16 plain columns of 10,000 sessions
// took ~50 ms before any Go work. ListSessions instead reads one generated
// column, listing, from the covering index sessions_by_label (both defined in
// migration 1) and decodes it here: 16-22 ms for 10,000 sessions on a busy
// 2-core machine, and the rows with the sealed tokens are never read. On
// PostgreSQL (no listing column) it reads the plain columns, in label order
// byte by byte as SQLite sorts them.

// ListSessions returns every session ordered by label, reading plain columns
// only: AccessToken and RefreshToken are empty, and so is the sent mark
// (SentFP, SentAt, SentBy). Recovery is filled.
func (s *Store) ListSessions(ctx context.Context) ([]Session, error) {
	var count int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sessions").Scan(&count); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	query := "SELECT " + sessionPlainColumns + " FROM sessions ORDER BY " + s.d.labelOrder
	if s.d.listingColumn {
		// INDEXED BY: fail loudly rather than fall back to a slow plan.
		query = "SELECT listing FROM sessions INDEXED BY sessions_by_label ORDER BY label"
	}
	rows, err := s.db.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	out := make([]Session, 0, count)
	for rows.Next() {
		var (
			sess Session
			err  error
		)
		if s.d.listingColumn {
			var listing string
			if err := rows.Scan(&listing); err != nil {
				return nil, fmt.Errorf("list sessions: %w", err)
			}
			sess, err = decodeListing(listing)
		} else {
			sess, err = scanSession(rows)
		}
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	counts, err := s.recoveryCounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	for i := range out {
		out[i].Recovery = counts[out[i].ID]
	}
	return out, nil
}

// decodeListing reads the listing column: the plain session columns in
// table order, texts as <bytes>:<text>, integers in decimal, commas between.
func decodeListing(listing string) (Session, error) {
	r := listingReader{rest: listing}
	var sess Session
	sess.ID = r.int()
	sess.Provider = r.text()
	sess.Label = r.text()
	sess.BaseURL = r.text()
	sess.APIVersion = r.text()
	sess.Sub = r.text()
	sess.TokenType = r.text()
	sess.IssuedAt = r.time()
	sess.ExpiresAt = r.time()
	sess.RefreshExpiresAt = r.time()
	sess.CreatedAt = r.time()
	sess.UpdatedAt = r.time()
	sess.LastRefreshAt = r.time()
	sess.LastStatus = r.text()
	sess.NeedsLogin = r.int() != 0
	sess.Version = r.int()
	if r.bad || r.rest != "" {
		return Session{}, fmt.Errorf("session %d: malformed listing column", sess.ID)
	}
	return sess, nil
}

// listingReader consumes the fields of a listing one by one; bad is set
// when the input does not have the expected shape.
type listingReader struct {
	rest string
	bad  bool
}

// int reads a decimal integer and the comma after it (if any). Hand-rolled:
// strconv.ParseInt plus strings.Cut was a third of the listing's cost.
func (r *listingReader) int() int64 {
	s := r.rest
	i, neg := 0, false
	if i < len(s) && s[i] == '-' {
		neg, i = true, 1
	}
	start := i
	var n int64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int64(s[i]-'0')
	}
	if digits := i - start; digits == 0 || digits > 18 || (i < len(s) && s[i] != ',') {
		r.bad, r.rest = true, ""
		return 0
	}
	r.rest = s[min(i+1, len(s)):]
	if neg {
		return -n
	}
	return n
}

func (r *listingReader) time() time.Time {
	if ms := r.int(); ms != 0 {
		return time.UnixMilli(ms)
	}
	return time.Time{}
}

// text reads <bytes>:<text> and the comma after it; the text may hold any
// byte, commas included.
func (r *listingReader) text() string {
	s := r.rest
	i, n := 0, 0
	for ; i < len(s) && i < 10 && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
	}
	if i == 0 || i >= len(s) || s[i] != ':' {
		r.bad, r.rest = true, ""
		return ""
	}
	s = s[i+1:]
	if n > len(s) || (n < len(s) && s[n] != ',') {
		r.bad, r.rest = true, ""
		return ""
	}
	r.rest = s[min(n+1, len(s)):]
	return s[:n]
}
