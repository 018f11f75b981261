// Package slurmtest starts a private single-node Slurm cluster for tests:
// munged with its own key and socket, slurmctld and slurmd as root with a
// generated slurm.conf (NodeName = the short host name), all state, spool,
// PID and log files in a temporary directory, no systemd and no accounting
// (jobs are followed with squeue). Debian's slurmctld, slurmd,
// slurm-client and munge provide the daemons (scripts/deps.sh installs
// them).
package slurmtest

import (
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Cluster is a running cluster.
type Cluster struct {
	Dir   string // its files: slurm.conf, munge.key, state/, spool/, *.log
	Conf  string // slurm.conf; Start sets SLURM_CONF to it for the test
	Node  string // the node's name
	procs []*exec.Cmd
}

// Programs the cluster needs.
var programs = []string{"munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo"}

// Unavailable says why no cluster can be started here ("" if one can):
// the daemons run as root, and the programs must be installed.
func Unavailable() string {
	if os.Geteuid() != 0 {
		return "the Slurm daemons of the test cluster run as root (SlurmUser=root), and this is not root"
	}
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Sprintf("%s is not installed (Debian: slurmctld slurmd slurm-client munge; scripts/deps.sh installs them)", p)
		}
	}
	return ""
}

// Start starts a cluster in a temporary directory of t, sets SLURM_CONF for
// t (so sbatch, squeue and scancel, and the programs t runs, use it) and
// stops it at t's cleanup: the jobs are canceled, then the daemons stopped
// by their PIDs. It skips t with the reason when no cluster can be started
// here (Unavailable) and fails it when the cluster does not come up.
func Start(t testing.TB) *Cluster {
	t.Helper()
	if why := Unavailable(); why != "" {
		t.Skip("slurmtest: " + why)
	}
	dir, err := os.MkdirTemp("", "slurm") // short: the munge socket's path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ = strings.Cut(host, ".")
	c := &Cluster{Dir: dir, Conf: filepath.Join(dir, "slurm.conf"), Node: host}
	t.Cleanup(func() {
		c.stop(t)
		if !t.Failed() {
			os.RemoveAll(dir)
		} else {
			t.Logf("slurmtest: the cluster's files (logs) are in %s", dir)
		}
	})
	if err := c.write(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLURM_CONF", c.Conf)
	p := func(n string) string { return filepath.Join(dir, n) }
	if err := c.start("munged", "--foreground", "--force", "--key-file="+p("munge.key"), "--socket="+p("munge.socket"),
		"--pid-file="+p("munged.pid"), "--log-file="+p("munged.log"), "--seed-file="+p("munged.seed")); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(10*time.Second, func() bool { _, err := os.Stat(p("munge.socket")); return err == nil }); err != nil {
		t.Fatalf("slurmtest: munged: no socket %s: %v\n%s", p("munge.socket"), err, c.logTail("munged.out"))
	}
	if err := c.start("slurmctld", "-D", "-i", "-f", c.Conf); err != nil {
		t.Fatal(err)
	}
	if err := c.start("slurmd", "-D", "-f", c.Conf, "-N", host); err != nil {
		t.Fatal(err)
	}
	err = waitFor(60*time.Second, func() bool {
		out, err := exec.Command("sinfo", "--noheader", "--format=%T").Output()
		return err == nil && strings.TrimSpace(string(out)) == "idle"
	})
	if err != nil {
		t.Fatalf("slurmtest: the node did not come up idle: %v\n%s\n%s", err, c.logTail("slurmctld.log"), c.logTail("slurmd.log"))
	}
	return c
}

// write writes the munge key and slurm.conf.
func (c *Cluster) write() error {
	key := make([]byte, 1024)
	rand.Read(key)
	if err := os.WriteFile(filepath.Join(c.Dir, "munge.key"), key, 0o400); err != nil {
		return err
	}
	for _, d := range []string{"state", "spool"} {
		if err := os.Mkdir(filepath.Join(c.Dir, d), 0o755); err != nil {
			return err
		}
	}
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	d := c.Dir
	conf := fmt.Sprintf(`# A private single-node test cluster (internal/slurmtest).
ClusterName=wowtest
SlurmctldHost=%[1]s(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=%[2]s/munge.socket
SlurmctldPort=%[3]d
SlurmdPort=%[4]d
StateSaveLocation=%[2]s/state
SlurmdSpoolDir=%[2]s/spool
SlurmctldPidFile=%[2]s/slurmctld.pid
SlurmdPidFile=%[2]s/slurmd.pid
SlurmctldLogFile=%[2]s/slurmctld.log
SlurmdLogFile=%[2]s/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobContainerType=job_container/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
KillWait=5
MinJobAge=300
InactiveLimit=0
NodeName=%[1]s NodeAddr=127.0.0.1 CPUs=%[5]d RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=%[1]s Default=YES MaxTime=INFINITE State=UP
`, c.Node, d, ports[0], ports[1], runtime.NumCPU())
	return os.WriteFile(c.Conf, []byte(conf), 0o644)
}

// start starts a daemon in the foreground, its output in DIR/NAME.out.
func (c *Cluster) start(name string, args ...string) error {
	out, err := os.Create(filepath.Join(c.Dir, name+".out"))
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "SLURM_CONF="+c.Conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // not killed with the test's process group by a terminal's Ctrl-C before cleanup
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("slurmtest: %s: %w", name, err)
	}
	c.procs = append(c.procs, cmd)
	return nil
}

// stop cancels the jobs, waits (a little) for them to end, then stops the
// daemons by PID, the last started first: SIGTERM, then SIGKILL after 10 s.
func (c *Cluster) stop(t testing.TB) {
	if len(c.procs) == 3 {
		exec.Command("scancel", "--me").Run()
		waitFor(20*time.Second, func() bool {
			out, err := exec.Command("squeue", "--me", "--noheader", "--format=%i").Output()
			return err != nil || strings.TrimSpace(string(out)) == ""
		})
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		p.Process.Signal(syscall.SIGTERM)
		exited := make(chan struct{})
		go func() { p.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Logf("slurmtest: %s (PID %d) did not stop on SIGTERM: killing it", p.Path, p.Process.Pid)
			p.Process.Kill()
			<-exited
		}
	}
	c.procs = nil
}

// logTail returns the last lines of the cluster's file name.
func (c *Cluster) logTail(name string) string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, name))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return name + ":\n" + strings.Join(lines[max(0, len(lines)-15):], "\n")
}

// freePorts returns n TCP ports free on 127.0.0.1 now.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("slurmtest: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitFor polls ok every 100 ms until it holds or d has passed.
func waitFor(d time.Duration, ok func() bool) error {
	for end := time.Now().Add(d); ; time.Sleep(100 * time.Millisecond) {
		if ok() {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("not within %v", d)
		}
	}
}
