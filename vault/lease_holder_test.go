package vault

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"
)

// deadPID is the PID of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	return cmd.ProcessState.Pid()
}

// leaseEnv is a vault with one session and a Store acting as this process.
func leaseEnv(t *testing.T) (*testEnv, *Store, int64) { return leaseEnvOn(t, newTestEnv(t)) }

// leaseEnvOn is leaseEnv on env's backend.
func leaseEnvOn(t *testing.T, env *testEnv) (*testEnv, *Store, int64) {
	st := env.open(t)
	sess := pathstackSession("prod")
	if err := st.CreateSession(ctxb(), &sess); err != nil {
		t.Fatal(err)
	}
	return env, st, sess.ID
}

// as opens the vault as the given process.
func (e *testEnv) as(t *testing.T, p Process) *Store {
	opts := e.options()
	opts.Process = &p
	return e.openWith(t, opts)
}

func mustTake(t *testing.T, s *Store, id int64, owner string) bool {
	t.Helper()
	ok, err := s.TakeLease(ctxb(), id, owner, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestLeaseOfDeadHolderTakenOver: a lease whose holder was killed on this
// host is taken over at once, not after its hour runs out; a live holder,
// a holder on another host, or one of unknown process keeps it.
func TestLeaseOfDeadHolderTakenOver(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		env, me, id := leaseEnvOn(t, env)
		self := me.proc() // on PostgreSQL, the host carries the boot id
		if self.Host == "" {
			t.Skip("no hostname")
		}
		dead := Process{Host: self.Host, PID: deadPID(t), Start: 4242}
		killed := env.as(t, dead)
		if !mustTake(t, killed, id, "killed") {
			t.Fatal("free lease not taken")
		}
		owner, p, until, err := me.LeaseHolder(ctxb(), id)
		if err != nil || owner != "killed" || p != dead || !env.leaseUntilIs(until, time.Hour) {
			t.Fatalf("LeaseHolder = %q %+v %v %v", owner, p, until, err)
		}
		if !mustTake(t, me, id, "me") {
			t.Fatal("lease of a dead holder not taken over")
		}
		if owner, p, _, _ := me.LeaseHolder(ctxb(), id); owner != "me" || p != self {
			t.Errorf("after takeover: %q %+v, want me %+v", owner, p, self)
		}

		// A live holder (this very process, under another owner) keeps it.
		other := env.open(t)
		if mustTake(t, other, id, "other") {
			t.Fatal("lease of a live holder taken over")
		}

		// A holder elsewhere cannot be judged from here.
		if err := me.ReleaseLease(ctxb(), id, "me"); err != nil {
			t.Fatal(err)
		}
		remote := env.as(t, Process{Host: self.Host + "-elsewhere", PID: dead.PID, Start: dead.Start})
		if !mustTake(t, remote, id, "remote") {
			t.Fatal("free lease not taken")
		}
		if mustTake(t, me, id, "me") {
			t.Fatal("lease of a holder on another host taken over")
		}

		// A lease written without a process (an older tokentop) lapses as before.
		if _, err := me.db.Exec("UPDATE sessions SET lease_owner = 'old', lease_host = NULL, lease_pid = NULL, lease_start = NULL WHERE id = ?", id); err != nil {
			t.Fatal(err)
		}
		if mustTake(t, me, id, "me") {
			t.Fatal("lease of an unknown holder taken over")
		}

		if _, _, _, err := me.LeaseHolder(ctxb(), 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("LeaseHolder of a missing session: %v", err)
		}
	})
}

// TestLeaseOfReusedPIDTakenOver: the holder's PID now belongs to a process
// started at another time (this one): the holder is gone.
func TestLeaseOfReusedPIDTakenOver(t *testing.T) {
	self := currentProcess()
	if runtime.GOOS != "linux" || self.Start == 0 || self.Host == "" {
		t.Skip("process start times are known on Linux only")
	}
	env, me, id := leaseEnv(t)
	earlier := env.as(t, Process{Host: self.Host, PID: os.Getpid(), Start: self.Start - 1})
	if !mustTake(t, earlier, id, "earlier") {
		t.Fatal("free lease not taken")
	}
	if !mustTake(t, me, id, "me") {
		t.Fatal("lease of a holder whose PID was reused not taken over")
	}
}

// TestDeadHolderTakenOverOnce: contenders in two stores judging the same
// dead holder: exactly one wins.
func TestDeadHolderTakenOverOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		env, me, id := leaseEnvOn(t, env)
		self := me.proc() // on PostgreSQL, the host carries the boot id
		if self.Host == "" {
			t.Skip("no hostname")
		}
		if !mustTake(t, env.as(t, Process{Host: self.Host, PID: deadPID(t), Start: 1}), id, "killed") {
			t.Fatal("free lease not taken")
		}
		stores := []*Store{env.open(t), env.open(t)}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins int
		)
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := stores[i%2].TakeLease(ctxb(), id, "taker-"+string(rune('a'+i)), time.Hour)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				defer mu.Unlock()
				if ok {
					wins++
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Errorf("%d takers won the dead holder's lease, want 1", wins)
		}
	})
}

func TestProcessStart(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	if got := currentProcess().Start; got <= 0 {
		t.Fatalf("start of this process = %d", got)
	}
	if processStart(deadPID(t)) != 0 {
		t.Error("a dead process has a start time")
	}
	if processGone(os.Getpid(), currentProcess().Start) {
		t.Error("this process counted as gone")
	}
	// PIDs of another PID namespace (a container) are not ours to judge.
	if hostIdentity("") != "" {
		t.Error("a host without a name has an identity")
	}
	if ns, err := os.Readlink("/proc/self/ns/pid"); err == nil {
		want := "box"
		if ns != initPIDNamespace {
			want = "box/" + ns
		}
		if got := hostIdentity("box"); got != want {
			t.Errorf("hostIdentity = %q, want %q", got, want)
		}
	}
}
