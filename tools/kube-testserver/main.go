// Command kube-testserver runs a real kube-apiserver and etcd in one process,
// on loopback only, for the gateway's tests and local mode.
//
// Everything lives in one data folder, so a second start on the same folder
// resumes the same cluster (same etcd data, ports, certificates and tokens):
//
//	<data>/etcd/                 etcd's data
//	<data>/certs/                the apiserver's self-signed serving certificate
//	<data>/state.json            ports and user tokens, reused on restart
//	<data>/kubeconfig            the admin's kubeconfig (system:masters)
//	<data>/users/<name>.kubeconfig  one per test user
//	<data>/ready                 written once the cluster serves; removed on exit
//
// SIGTERM or SIGINT stops the apiserver, then etcd, then exits 0. When its
// stdin is a pipe or a socket, its end does the same: the process that
// started it is gone, however it died (docs/decisions/007).
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"

	// As in kube-apiserver's own main: metrics and log formats it registers.
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
)

// user is a fixed test identity (DESIGN.md section 7).
type user struct {
	Name   string
	Groups []string
}

var users = []user{
	{Name: "admin", Groups: []string{"system:masters"}},
	{Name: "alice", Groups: []string{"testers"}},
	{Name: "bob", Groups: []string{"testers"}},
	{Name: "mallory", Groups: []string{"testers"}},
}

type state struct {
	APIServerPort int               `json:"apiServerPort"`
	EtcdPort      int               `json:"etcdPort"`
	EtcdPeerPort  int               `json:"etcdPeerPort"`
	Tokens        map[string]string `json:"tokens"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "kube-testserver: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	dataDir := flag.String("data-dir", "", "folder for etcd data, certificates and kubeconfigs (required)")
	port := flag.Int("port", 0, "apiserver port on 127.0.0.1 (0: a free one, kept across restarts)")
	verbosity := flag.String("v", "0", "apiserver log verbosity")
	flag.Parse()
	if *dataDir == "" {
		return errors.New("--data-dir is required")
	}
	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "users"), 0o700); err != nil {
		return err
	}
	readyFile := filepath.Join(dir, "ready")
	_ = os.Remove(readyFile)
	defer os.Remove(readyFile)

	st, err := loadState(dir, *port)
	if err != nil {
		return err
	}
	saKey, err := ensureServiceAccountKey(dir)
	if err != nil {
		return err
	}
	tokenFile := filepath.Join(dir, "tokens.csv")
	if err := writeTokenFile(tokenFile, st); err != nil {
		return err
	}

	etcd, err := startEtcd(dir, st)
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	defer func() {
		etcd.Close()
		<-etcd.Server.StopNotify()
	}()

	// The apiserver's calls to the cluster network go through a proxy on
	// loopback (localnode.go), started before the apiserver dials it.
	socket := egressSocket(dir)
	egressFile, err := egressConfig(dir, socket)
	if err != nil {
		return err
	}
	services := &atomic.Pointer[corelisters.ServiceLister]{}
	proxyCtx, stopProxy := context.WithCancel(context.Background())
	defer stopProxy()
	closeEgress, err := serveEgress(proxyCtx, socket, services)
	if err != nil {
		return fmt.Errorf("egress proxy: %w", err)
	}
	defer closeEgress()

	certDir := filepath.Join(dir, "certs")
	cmd := app.NewAPIServerCommand() // installs the SIGTERM/SIGINT handler
	cmd.SetArgs([]string{
		"--etcd-servers=" + fmt.Sprintf("http://127.0.0.1:%d", st.EtcdPort),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none", // the default reconciler refuses a loopback advertise address
		fmt.Sprintf("--secure-port=%d", st.APIServerPort),
		"--cert-dir=" + certDir,
		"--token-auth-file=" + tokenFile,
		"--authorization-mode=RBAC",
		"--anonymous-auth=false",
		"--service-account-key-file=" + saKey,
		"--service-account-signing-key-file=" + saKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.96.0.0/16",
		"--enable-priority-and-fairness=false",
		"--egress-selector-config-file=" + egressFile,
		"--v=" + *verbosity,
	})

	served := make(chan error, 1)
	go func() { served <- cmd.Execute() }()

	// The role aggregation controller's watch must end with the signal, or the
	// apiserver's graceful shutdown waits for it.
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	exitWithStdin()
	bootstrapped := make(chan error, 1)
	go func() { bootstrapped <- bootstrap(ctx, dir, certDir, st, services) }()
	go func() {
		select {
		case <-ctx.Done():
		case <-time.After(3 * time.Minute):
			bootstrapped <- errors.New("cluster not ready within 3 minutes")
		}
	}()

	select {
	case err := <-served:
		return fmt.Errorf("apiserver stopped before it was ready: %v", err)
	case err := <-bootstrapped:
		if err != nil {
			return err
		}
	}
	if err := os.WriteFile(readyFile, []byte(fmt.Sprintf("https://127.0.0.1:%d\n", st.APIServerPort)), 0o600); err != nil {
		return err
	}
	fmt.Printf("kube-testserver ready: https://127.0.0.1:%d kubeconfig=%s\n", st.APIServerPort, filepath.Join(dir, "kubeconfig"))
	if err := <-served; err != nil {
		return fmt.Errorf("apiserver: %w", err)
	}
	return nil
}

// exitWithStdin stops the server like SIGTERM does when its stdin is a pipe
// (or a socket: Node's `stdio: 'pipe'` is a socketpair) and it closes: the
// parent holds the other end and never writes, so the kernel closes it when
// the parent exits, even by SIGKILL. A terminal or /dev/null on stdin is not
// watched, so a server started by hand keeps running.
func exitWithStdin() {
	info, err := os.Stdin.Stat()
	if err != nil || info.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		fmt.Fprintln(os.Stderr, "kube-testserver: stdin closed (the process that started it is gone): shutting down")
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}()
}

func loadState(dir string, port int) (*state, error) {
	path := filepath.Join(dir, "state.json")
	st := &state{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if port != 0 {
		st.APIServerPort = port
	}
	for i, p := range []*int{&st.APIServerPort, &st.EtcdPort, &st.EtcdPeerPort} {
		// A port kept from an earlier run that another process holds now: take a
		// new one rather than fail (the apiserver's port only if not asked for).
		if *p != 0 && !(i == 0 && port != 0) && !portFree(*p) {
			fmt.Fprintf(os.Stderr, "kube-testserver: port %d from %s is in use by another process; choosing a new one\n", *p, path)
			*p = 0
		}
		if *p == 0 {
			free, err := freePort()
			if err != nil {
				return nil, err
			}
			*p = free
		}
	}
	if st.Tokens == nil {
		st.Tokens = map[string]string{}
	}
	for _, u := range users {
		if st.Tokens[u.Name] == "" {
			b := make([]byte, 24)
			if _, err := rand.Read(b); err != nil {
				return nil, err
			}
			st.Tokens[u.Name] = hex.EncodeToString(b)
		}
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, err
	}
	return st, os.WriteFile(path, b, 0o600)
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func ensureServiceAccountKey(dir string) (string, error) {
	path := filepath.Join(dir, "sa.key")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return path, os.WriteFile(path, b, 0o600)
}

func writeTokenFile(path string, st *state) error {
	var sb strings.Builder
	for _, u := range users {
		fmt.Fprintf(&sb, "%s,%s,%s,\"%s\"\n", st.Tokens[u.Name], u.Name, u.Name, strings.Join(u.Groups, ","))
	}
	return os.WriteFile(path, []byte(sb.String()), 0o600)
}

func startEtcd(dir string, st *state) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Dir = filepath.Join(dir, "etcd")
	cfg.Name = "kube-testserver"
	cfg.LogLevel = "error"
	client, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", st.EtcdPort))
	peer, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", st.EtcdPeerPort))
	cfg.ListenClientUrls = []url.URL{*client}
	cfg.AdvertiseClientUrls = []url.URL{*client}
	cfg.ListenPeerUrls = []url.URL{*peer}
	cfg.AdvertisePeerUrls = []url.URL{*peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, err
	case <-time.After(time.Minute):
		e.Close()
		return nil, errors.New("not ready after 1m")
	}
}

// bootstrap waits for the apiserver, grants the test users their rights,
// starts the controllers (runControllers) and writes the kubeconfigs.
func bootstrap(ctx context.Context, dir, certDir string, st *state, services *atomic.Pointer[corelisters.ServiceLister]) error {
	server := fmt.Sprintf("https://127.0.0.1:%d", st.APIServerPort)
	admin := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // loopback, self-signed; CA read below
	}
	call := func(method, path, body string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, method, server+path, strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+st.Tokens["admin"])
		req.Header.Set("Content-Type", "application/json")
		res, err := admin.Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		return res.StatusCode, nil
	}
	for {
		if code, err := call(http.MethodGet, "/readyz", ""); err == nil && code == http.StatusOK {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("apiserver not ready at %s: %w", server, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}

	objects := []struct{ path, body string }{
		{"/api/v1/namespaces", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-a"}}`},
		{"/api/v1/namespaces", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-b"}}`},
		{"/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings", roleBinding("alice-edit", "edit", "alice")},
		{"/apis/rbac.authorization.k8s.io/v1/namespaces/team-b/rolebindings", roleBinding("bob-view", "view", "bob")},
	}
	for _, o := range objects {
		code, err := call(http.MethodPost, o.path, o.body)
		if err != nil {
			return err
		}
		if code != http.StatusCreated && code != http.StatusConflict {
			return fmt.Errorf("POST %s: HTTP %d", o.path, code)
		}
	}

	ca, err := os.ReadFile(filepath.Join(certDir, "apiserver.crt"))
	if err != nil {
		return err
	}
	if err := runControllers(ctx, server, ca, st.Tokens["admin"], services); err != nil {
		return err
	}
	for _, u := range users {
		path := filepath.Join(dir, "users", u.Name+".kubeconfig")
		if err := os.WriteFile(path, kubeconfig(server, ca, u.Name, st.Tokens[u.Name]), 0o600); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "kubeconfig"), kubeconfig(server, ca, "admin", st.Tokens["admin"]), 0o600)
}

func roleBinding(name, role, subject string) string {
	return fmt.Sprintf(`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":%q},`+
		`"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":%q},`+
		`"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":%q}]}`, name, role, subject)
}

// kubeconfig is written as JSON, which is valid YAML and needs no library.
func kubeconfig(server string, ca []byte, name, token string) []byte {
	cfg := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"current-context": "kube-testserver",
		"clusters": []any{map[string]any{"name": "kube-testserver", "cluster": map[string]any{
			"server": server, "certificate-authority-data": ca,
		}}},
		"users": []any{map[string]any{"name": name, "user": map[string]any{"token": token}}},
		"contexts": []any{map[string]any{"name": "kube-testserver", "context": map[string]any{
			"cluster": "kube-testserver", "user": name, "namespace": "default",
		}}},
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	return b
}
