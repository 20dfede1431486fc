/** A DNS-1123 label (at most 63 characters): what Kubernetes accepts as a namespace name. */
export const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A DNS-1123 subdomain (at most 253 characters): what Kubernetes accepts as the name of most objects. */
export const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

// `unknown`: federation representations are the caller's JSON, so a key may be missing or not a string.
export const isNamespaceName = (s: unknown): s is string => typeof s === 'string' && s.length <= 63 && dns1123Label.test(s);
export const isObjectName = (s: unknown): s is string => typeof s === 'string' && s.length <= 253 && dns1123Subdomain.test(s);
