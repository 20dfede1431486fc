package main

import (
	"context"
	"os"
	"strings"

	defaultconfig "github.com/tektoncd/pipeline/pkg/apis/config"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1alpha1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/apis/resolution"
	resolutionv1alpha1 "github.com/tektoncd/pipeline/pkg/apis/resolution/v1alpha1"
	resolutionv1beta1 "github.com/tektoncd/pipeline/pkg/apis/resolution/v1beta1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	filteredinformerfactory "knative.dev/pkg/client/injection/kube/informers/factory/filtered"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/injection/sharedmain"
	pkgleaderelection "knative.dev/pkg/leaderelection"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/signals"
	"knative.dev/pkg/system"
	"knative.dev/pkg/webhook"
	"knative.dev/pkg/webhook/certificates"
	"knative.dev/pkg/webhook/configmaps"
	"knative.dev/pkg/webhook/resourcesemantics"
	"knative.dev/pkg/webhook/resourcesemantics/conversion"
	"knative.dev/pkg/webhook/resourcesemantics/defaulting"
	"knative.dev/pkg/webhook/resourcesemantics/validation"
)

// webhookTypes is the kinds Tekton's cmd/webhook defaults and validates.
var webhookTypes = map[schema.GroupVersionKind]resourcesemantics.GenericCRD{
	v1alpha1.SchemeGroupVersion.WithKind("VerificationPolicy"):          &v1alpha1.VerificationPolicy{},
	v1alpha1.SchemeGroupVersion.WithKind("StepAction"):                  &v1alpha1.StepAction{},
	v1beta1.SchemeGroupVersion.WithKind("Pipeline"):                     &v1beta1.Pipeline{},
	v1beta1.SchemeGroupVersion.WithKind("Task"):                         &v1beta1.Task{},
	v1beta1.SchemeGroupVersion.WithKind("TaskRun"):                      &v1beta1.TaskRun{},
	v1beta1.SchemeGroupVersion.WithKind("PipelineRun"):                  &v1beta1.PipelineRun{},
	v1beta1.SchemeGroupVersion.WithKind("CustomRun"):                    &v1beta1.CustomRun{},
	v1beta1.SchemeGroupVersion.WithKind("StepAction"):                   &v1beta1.StepAction{},
	v1.SchemeGroupVersion.WithKind("Task"):                              &v1.Task{},
	v1.SchemeGroupVersion.WithKind("Pipeline"):                          &v1.Pipeline{},
	v1.SchemeGroupVersion.WithKind("TaskRun"):                           &v1.TaskRun{},
	v1.SchemeGroupVersion.WithKind("PipelineRun"):                       &v1.PipelineRun{},
	resolutionv1alpha1.SchemeGroupVersion.WithKind("ResolutionRequest"): &resolutionv1alpha1.ResolutionRequest{},
	resolutionv1beta1.SchemeGroupVersion.WithKind("ResolutionRequest"):  &resolutionv1beta1.ResolutionRequest{},
}

// configStore decorates admission contexts with the current config-defaults and feature-flags.
func configStore(ctx context.Context, cmw configmap.Watcher) func(context.Context) context.Context {
	store := defaultconfig.NewStore(logging.FromContext(ctx).Named("config-store"))
	store.WatchConfigs(cmw)
	return store.ToContext
}

// runWebhook is Tekton's cmd/webhook: certificates, defaulting, validation,
// config validation and conversion, with strict (unknown-field) decoding.
func runWebhook() {
	serviceName := envOr("WEBHOOK_SERVICE_NAME", "tekton-pipelines-webhook")
	secretName := envOr("WEBHOOK_SECRET_NAME", "webhook-certs")
	name := envOr("WEBHOOK_ADMISSION_CONTROLLER_NAME", "webhook.pipeline.tekton.dev")

	ctx := withoutProbes(injection.WithNamespaceScope(signals.NewContext(), system.Namespace()))
	// One binary holds both commands, so the controller's injected informers are
	// registered here too; the filtered factory among them needs its selector.
	ctx = filteredinformerfactory.WithSelectors(ctx, v1beta1.ManagedByLabelKey)
	ctx = webhook.WithOptions(ctx, webhook.Options{
		ServiceName: serviceName,
		Port:        webhook.PortFromEnv(8443),
		SecretName:  secretName,
	})

	defaultingController := func(ctx context.Context, cmw configmap.Watcher) *controller.Impl {
		return defaulting.NewAdmissionController(ctx, name, "/defaulting", webhookTypes, configStore(ctx, cmw), true)
	}
	validationController := func(ctx context.Context, cmw configmap.Watcher) *controller.Impl {
		return validation.NewAdmissionController(ctx, "validation."+name, "/resource-validation", webhookTypes, configStore(ctx, cmw), true)
	}
	configValidationController := func(ctx context.Context, cmw configmap.Watcher) *controller.Impl {
		return configmaps.NewAdmissionController(ctx, strings.Join([]string{"config", name}, "."), "/config-validation",
			configmap.Constructors{
				logging.ConfigMapName():                   logging.NewConfigFromConfigMap,
				defaultconfig.GetDefaultsConfigName():     defaultconfig.NewDefaultsFromConfigMap,
				pkgleaderelection.ConfigMapName():         pkgleaderelection.NewConfigFromConfigMap,
				defaultconfig.GetFeatureFlagsConfigName(): defaultconfig.NewFeatureFlagsFromConfigMap,
			})
	}
	conversionController := func(ctx context.Context, cmw configmap.Watcher) *controller.Impl {
		v1alpha1V, v1beta1V, v1V := v1alpha1.SchemeGroupVersion.Version, v1beta1.SchemeGroupVersion.Version, v1.SchemeGroupVersion.Version
		resAlpha, resBeta := resolutionv1alpha1.SchemeGroupVersion.Version, resolutionv1beta1.SchemeGroupVersion.Version
		return conversion.NewConversionController(ctx, "/resource-conversion",
			map[schema.GroupKind]conversion.GroupKindConversion{
				v1beta1.Kind("StepAction"): {
					DefinitionName: pipeline.StepActionResource.String(),
					HubVersion:     v1alpha1V,
					Zygotes:        map[string]conversion.ConvertibleObject{v1alpha1V: &v1alpha1.StepAction{}, v1beta1V: &v1beta1.StepAction{}},
				},
				v1.Kind("Task"): {
					DefinitionName: pipeline.TaskResource.String(),
					HubVersion:     v1beta1V,
					Zygotes:        map[string]conversion.ConvertibleObject{v1beta1V: &v1beta1.Task{}, v1V: &v1.Task{}},
				},
				v1.Kind("Pipeline"): {
					DefinitionName: pipeline.PipelineResource.String(),
					HubVersion:     v1beta1V,
					Zygotes:        map[string]conversion.ConvertibleObject{v1beta1V: &v1beta1.Pipeline{}, v1V: &v1.Pipeline{}},
				},
				v1.Kind("TaskRun"): {
					DefinitionName: pipeline.TaskRunResource.String(),
					HubVersion:     v1beta1V,
					Zygotes:        map[string]conversion.ConvertibleObject{v1beta1V: &v1beta1.TaskRun{}, v1V: &v1.TaskRun{}},
				},
				v1.Kind("PipelineRun"): {
					DefinitionName: pipeline.PipelineRunResource.String(),
					HubVersion:     v1beta1V,
					Zygotes:        map[string]conversion.ConvertibleObject{v1beta1V: &v1beta1.PipelineRun{}, v1V: &v1.PipelineRun{}},
				},
				resolutionv1beta1.Kind("ResolutionRequest"): {
					DefinitionName: resolution.ResolutionRequestResource.String(),
					HubVersion:     resAlpha,
					Zygotes: map[string]conversion.ConvertibleObject{
						resAlpha: &resolutionv1alpha1.ResolutionRequest{}, resBeta: &resolutionv1beta1.ResolutionRequest{},
					},
				},
			},
			configStore(ctx, cmw))
	}

	sharedmain.MainWithContext(ctx, serviceName,
		certificates.NewController,
		defaultingController,
		validationController,
		configValidationController,
		conversionController,
	)
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
