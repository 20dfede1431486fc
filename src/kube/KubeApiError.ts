/** A non-2xx answer from the Kubernetes API, with its `Status` object when it sent one. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  readonly status: number;
  readonly reason: string | undefined;
  readonly details: KubeStatusDetails | undefined;

  constructor(status: number, message: string, reason?: string, details?: KubeStatusDetails) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.details = details;
  }

  static async fromResponse(
    method: string,
    path: string,
    res: { status: number; text(): Promise<string> },
  ): Promise<KubeApiError> {
    const text = await res.text().catch(() => '');
    let status: KubeStatus | undefined;
    try {
      status = JSON.parse(text) as KubeStatus;
    } catch {
      // Not a Status object (a proxy's HTML page, say); the HTTP status is enough.
    }
    const message = status?.message ?? `${method} ${path}: HTTP ${res.status}`;
    return new KubeApiError(res.status, message, status?.reason, status?.details);
  }
}

export interface KubeStatusDetails {
  name?: string;
  kind?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
}

interface KubeStatus {
  kind?: string;
  message?: string;
  reason?: string;
  details?: KubeStatusDetails;
}
