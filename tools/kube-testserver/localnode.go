package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/controller/serviceaccount"
)

// What a cluster with a node needs beyond the apiserver, and no more: the
// `default` ServiceAccount in every namespace (the ServiceAccount admission
// plugin refuses a Pod without it), Pods placed on a node (there is no
// kube-scheduler: every Pod goes to the first Node by name, in practice the one
// simulated node kwok serves), and a route from a Service's ClusterIP to a
// process on loopback for the apiserver's webhook calls (there is no
// kube-proxy; see egressConfig).

// loopbackPortsAnnotation on a Service maps its ports to ports on 127.0.0.1,
// "443=38211,9090=38212": where the process that backs it listens on this machine.
const loopbackPortsAnnotation = "kube-testserver.local/loopback-ports"

// runNodeControllers starts the ServiceAccount controller, the binder and the
// Service lister the egress proxy reads. It returns once their caches synced.
func runNodeControllers(ctx context.Context, client kubernetes.Interface, services *atomic.Pointer[corelisters.ServiceLister]) error {
	factory := informers.NewSharedInformerFactory(client, 0)
	sa, err := serviceaccount.NewServiceAccountsController(klog.Background(),
		factory.Core().V1().ServiceAccounts(), factory.Core().V1().Namespaces(), client,
		serviceaccount.DefaultServiceAccountsControllerOptions())
	if err != nil {
		return err
	}
	serviceLister := factory.Core().V1().Services().Lister()
	podLister := factory.Core().V1().Pods().Lister()
	nodeLister := factory.Core().V1().Nodes().Lister()
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("cache of %v did not sync", typ)
		}
	}
	services.Store(&serviceLister)
	go sa.Run(ctx, 1)
	go bindPods(ctx, client, podLister, nodeLister)
	return nil
}

// bindPods binds every Pod that has no node to the first Node by name, as a
// scheduler with one node and no constraints would.
func bindPods(ctx context.Context, client kubernetes.Interface, pods corelisters.PodLister, nodes corelisters.NodeLister) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		all, err := nodes.List(labels.Everything())
		if err != nil || len(all) == 0 {
			continue
		}
		sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
		node := all[0].Name
		pending, err := pods.List(labels.Everything())
		if err != nil {
			continue
		}
		for _, pod := range pending {
			if pod.Spec.NodeName != "" || pod.DeletionTimestamp != nil {
				continue
			}
			binding := &corev1.Binding{
				ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
				Target:     corev1.ObjectReference{Kind: "Node", Name: node},
			}
			// A conflict means it was bound (or deleted) meanwhile; the next tick sees it.
			_ = client.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{})
		}
	}
}

// egressSocket is the Unix socket of the apiserver's "cluster" egress: its
// path must fit in sun_path (108 bytes), so a long data folder gets one in
// the temporary folder, named after the data folder.
func egressSocket(dir string) string {
	path := filepath.Join(dir, "egress.sock")
	if len(path) < 100 {
		return path
	}
	sum := sha256.Sum256([]byte(dir))
	return filepath.Join(os.TempDir(), "kube-testserver-"+hex.EncodeToString(sum[:6])+".sock")
}

// egressConfig sends the apiserver's traffic to the cluster network (webhook
// and CRD conversion calls to a Service, logs and exec to a node) through an
// HTTP CONNECT proxy on a Unix socket; it answers only for a Service annotated
// with loopback ports, so nothing leaves 127.0.0.1.
func egressConfig(dir, socket string) (string, error) {
	path := filepath.Join(dir, "egress-selector.yaml")
	body := fmt.Sprintf(`apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: %s
`, socket)
	return path, os.WriteFile(path, []byte(body), 0o600)
}

// serveEgress is the proxy egressConfig names: CONNECT <clusterIP>:<port> is
// joined to 127.0.0.1:<loopback port> of the Service with that ClusterIP.
func serveEgress(ctx context.Context, socket string, services *atomic.Pointer[corelisters.ServiceLister]) (func(), error) {
	_ = os.Remove(socket)
	l, err := net.Listen("unix", socket)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go proxyConnect(ctx, conn, services.Load())
		}
	}()
	return func() { l.Close(); _ = os.Remove(socket) }, nil
}

func proxyConnect(ctx context.Context, conn net.Conn, services *corelisters.ServiceLister) {
	defer conn.Close()
	reader := bufio.NewReader(conn)
	req, err := http.ReadRequest(reader)
	if err != nil {
		return
	}
	refuse := func(status int, why string) {
		fmt.Fprintf(conn, "HTTP/1.1 %d %s\r\nContent-Length: %d\r\n\r\n%s", status, http.StatusText(status), len(why), why)
	}
	if req.Method != http.MethodConnect {
		refuse(http.StatusMethodNotAllowed, "only CONNECT")
		return
	}
	target, err := loopbackTarget(req.Host, services)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kube-testserver: egress to %s refused: %v\n", req.Host, err)
		refuse(http.StatusBadGateway, err.Error())
		return
	}
	var d net.Dialer
	upstream, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		refuse(http.StatusBadGateway, err.Error())
		return
	}
	defer upstream.Close()
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(upstream, reader); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, upstream); done <- struct{}{} }()
	<-done
}

// loopbackTarget finds the Service whose ClusterIP and port are host, and the
// loopback port its annotation names for that port.
func loopbackTarget(host string, services *corelisters.ServiceLister) (string, error) {
	ip, portText, err := net.SplitHostPort(host)
	if err != nil {
		return "", err
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return "", err
	}
	if services == nil {
		return "", fmt.Errorf("services not listed yet")
	}
	all, err := (*services).List(labels.Everything())
	if err != nil {
		return "", err
	}
	for _, svc := range all {
		if svc.Spec.ClusterIP != ip {
			continue
		}
		for _, pair := range strings.Split(svc.Annotations[loopbackPortsAnnotation], ",") {
			from, to, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if ok && from == strconv.Itoa(port) {
				if n, err := strconv.Atoi(to); err == nil && n > 0 && n < 65536 {
					return fmt.Sprintf("127.0.0.1:%d", n), nil
				}
			}
		}
		return "", fmt.Errorf("service %s/%s has no %s entry for port %d", svc.Namespace, svc.Name, loopbackPortsAnnotation, port)
	}
	return "", fmt.Errorf("no service has ClusterIP %s", ip)
}
