package cli

import (
	"bytes"
	"debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The CLI program (cmd/tokentop) leaves the dashboard out, and hands the
// dashboard and the demo to the dashboard program beside it or on PATH.

// uiModules are the dashboard's modules, none of which the CLI may link:
// Bubble Tea's init asks the terminal for its colours, atotto/clipboard's
// searches PATH, and all of them cost every start.
var uiModules = []string{"github.com/charmbracelet/bubbletea", "github.com/charmbracelet/lipgloss",
	"github.com/charmbracelet/bubbles", "github.com/atotto/clipboard", "github.com/muesli/termenv"}

func TestCLIProgramLinksNoDashboard(t *testing.T) {
	bin := tokentopBinary(t)
	linked := func(path string) map[string]bool {
		info, err := buildinfo.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		mods := map[string]bool{}
		for _, d := range info.Deps {
			mods[d.Path] = true
		}
		return mods
	}
	cli, dash := linked(bin), linked(filepath.Join(filepath.Dir(bin), dashboardProgram))
	for _, m := range uiModules {
		if cli[m] {
			t.Errorf("tokentop links %s", m)
		}
	}
	if !dash["github.com/charmbracelet/bubbletea"] {
		t.Errorf("%s does not link Bubble Tea: the check above would pass for the wrong reason", dashboardProgram)
	}
}

// TestCLIStartLeavesTheTerminalAlone: on a terminal, a CLI command writes
// its output and nothing else; the dashboard program's start asks the
// terminal for its background colour (OSC 11), which shows the check sees
// such a query when there is one.
func TestCLIStartLeavesTheTerminalAlone(t *testing.T) {
	bin := tokentopBinary(t)
	for _, tc := range []struct {
		program string
		asks    bool
	}{{"tokentop", false}, {dashboardProgram, true}} {
		t.Run(tc.program, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(filepath.Dir(bin), tc.program), "version")
			cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
			s := startScreen(t, cmd, 80, 24)
			s.waitFor("the version", 10*time.Second, "tokentop ")
			if err := s.wait(10 * time.Second); err != nil {
				t.Fatalf("%s version: %v", tc.program, err)
			}
			raw := s.rawOutput()
			if asks := bytes.Contains(raw, []byte("\x1b]11;?")); asks != tc.asks {
				t.Errorf("%s version asked the terminal for its background: %v, want %v; it wrote %q", tc.program, asks, tc.asks, raw)
			}
			if !tc.asks && bytes.ContainsRune(raw, 0x1b) {
				t.Errorf("tokentop version wrote an escape sequence: %q", raw)
			}
		})
	}
}

// TestDashboardProgramMissing: tokentop without the dashboard program beside
// it or on PATH says how to install it, and exits non-zero.
func TestDashboardProgramMissing(t *testing.T) {
	bin := tokentopBinary(t)
	dir := t.TempDir()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	alone := filepath.Join(dir, "tokentop")
	if err := os.WriteFile(alone, data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{nil, {"demo"}} {
		cmd := exec.Command(alone, args...)
		cmd.Env = []string{"HOME=" + dir, "PATH=" + dir}
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("tokentop %q without %s succeeded:\n%s", args, dashboardProgram, out)
		}
		if !strings.Contains(string(out), dashboardProgram+" program, and it is not installed") || !strings.Contains(string(out), "go install github.com/tokentop/tokentop/cmd/...@latest") {
			t.Errorf("tokentop %q without %s said:\n%s", args, dashboardProgram, out)
		}
	}
}
