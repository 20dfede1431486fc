package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/kubernetes/pkg/controller/clusterroleaggregation"
)

// runControllers runs kube-controller-manager's ClusterRole aggregation
// controller, the one controller RBAC needs: without it the built-in admin,
// edit and view roles (and any CRD role labelled aggregate-to-edit) stay empty;
// and the controllers a node's Pods need (localnode.go). It returns once `edit`
// has its rules.
func runControllers(ctx context.Context, server string, ca []byte, token string, services *atomic.Pointer[corelisters.ServiceLister]) error {
	cfg := &rest.Config{Host: server, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	controller := clusterroleaggregation.NewClusterRoleAggregation(factory.Rbac().V1().ClusterRoles(), client.RbacV1())
	factory.Start(ctx.Done())
	go controller.Run(ctx, 1)
	if err := runNodeControllers(ctx, client, services); err != nil {
		return err
	}

	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		role, err := client.RbacV1().ClusterRoles().Get(ctx, "edit", metav1.GetOptions{})
		if err == nil && len(role.Rules) > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("ClusterRole edit was not aggregated within a minute")
}
