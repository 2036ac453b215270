// Types of alipay-mock's Node client. Answers are the admin API's own JSON objects
// (docs/admin-openapi.yaml of alipay-mock), so their fields keep its snake_case names.

/** The environment variable naming a binary to use instead of the packed one. */
export const BIN_ENV: 'ALIPAY_MOCK_BIN';
/** The fixtures' default app: key mode, RSA2 and RSA, AES key, seeded authorisations. */
export const DEFAULT_APP_ID: '2014072300007148';
/** The fixtures' certificate-mode app. */
export const CERT_APP_ID: '2021000000000003';

/** An admin call the gateway refused. */
export class AlipayMockError extends Error {
  /** HTTP status: 400 bad input, 401 token, 404 unknown id, 409 conflict. */
  readonly status: number;
  /** The admin API's `{"error": …}` text. */
  readonly adminMessage: string;
  readonly method: string;
  readonly path: string;
}

/** The binary to start: `ALIPAY_MOCK_BIN`, else the one packed for this platform; throws naming both. */
export function resolveBinary(env?: Record<string, string | undefined>): string;

/** A key-mode app: what an SDK is configured with (public test keys; never use them for real). */
export interface KeyApp {
  readonly appId: string;
  /** App private key, PKCS#8 PEM (`keyType: 'PKCS8'`). */
  readonly privateKeyPath: string;
  readonly privateKey: string;
  /** The same key, PKCS#1 PEM (the Node SDK's default `keyType`). */
  readonly privateKeyPkcs1Path: string;
  readonly privateKeyPkcs1: string;
  /** The key answers are signed with (`alipayPublicKey`), SPKI PEM. */
  readonly alipayPublicKeyPath: string;
  readonly alipayPublicKey: string;
  /** AES content-encryption key (`encryptKey`), Base64 of 16 bytes. */
  readonly aesKey: string;
}

/** The certificate-mode app: the files an SDK's certificate mode takes. */
export interface CertApp {
  readonly appId: string;
  /** App private key, PKCS#8 PEM. */
  readonly privateKeyPath: string;
  readonly privateKey: string;
  readonly privateKeyPkcs1Path: string;
  /** `appCertPath`. */
  readonly appCertPath: string;
  /** `alipayPublicCertPath`. */
  readonly alipayPublicCertPath: string;
  /** `alipayRootCertPath`. */
  readonly alipayRootCertPath: string;
}

export type AccountState =
  | 'normal'
  | 'not_certified'
  | 'related_unknown'
  | 'simulate_account'
  | 'paused'
  | 'zhima_not_opened'
  | 'system_error'
  | 'service_unavailable';
export type AuthCategory = 'C2B' | 'C2ConB' | 'B2B';
export type HostileMode = 'wrong_key' | 'missing_sign' | 'altered_body';

/** What `force` answers matching calls with. */
export type ForcedOutcome =
  | string
  | { error: string }
  | { authorized: boolean; openId?: string };

export interface ForceOptions {
  /** The next N matching calls (default 1). */
  times?: number;
  /** Only the N-th matching call from now. */
  nth?: number;
  /** Every matching call for this many seconds of the gateway's clock. */
  forSeconds?: number;
  method?: string;
  appId?: string;
  /** An identity id, e.g. `zhangsan`. */
  identity?: string;
}

export interface Scenario {
  id: string;
  created_at: string;
  outcome: { error: string } | { authorized: boolean; open_id?: string };
  match?: { method?: string; app_id?: string; identity?: string };
  times?: number;
  nth?: number;
  for_seconds?: number;
  remaining?: number;
  seen?: number;
  expires_at?: string;
}

export interface Authorization {
  app_id: string;
  identity: string;
  auth_category: AuthCategory;
  open_id: string;
}

export interface FaultOptions {
  /** Seed of the RNG every draw comes from (default 0): the same seed, the same run. */
  seed?: number;
  /** A fixed delay, or `[min, max]`, in milliseconds. */
  latencyMs?: number | [number, number];
  unknownErrorRate?: number;
  dropConnectionRate?: number;
  hostile?: HostileMode;
  hostileRate?: number;
  /** Only this app's calls. */
  appId?: string;
}

export interface JournalEntry {
  id: number;
  /** Real time, even with the gateway's clock frozen. */
  time: string;
  http_method: 'GET' | 'POST';
  app_id?: string;
  method?: string;
  charset: string;
  /** Merged request parameters; identity data masked unless `--journal-unmasked`. */
  params: Record<string, string>;
  signature: { verified: boolean | null; sign_content?: string };
  outcome: { code: string; sub_code?: string };
  faults?: string[];
  diagnosis?: { code: string; message: string };
  latency_ms: number;
}

export interface RequestFilter {
  method?: string;
  appId?: string;
  /** A `code` or `sub_code`. */
  outcome?: string;
  since?: Date | string;
  /** Only the newest N. */
  limit?: number;
}

export interface ClockState {
  /** The gateway's now, UTC. */
  now: string;
  frozen_at?: string;
  offset_seconds?: number;
}

/** The gateway's clock, which every time-based rule reads. */
export interface Clock {
  /** Time stands still at `at`. */
  freeze(at: Date | string): Promise<ClockState>;
  /** Real time shifted by `seconds` (negative is the past). */
  offset(seconds: number): Promise<ClockState>;
  /** Back to real time. */
  real(): Promise<ClockState>;
  get(): Promise<ClockState>;
}

/** The admin API of one gateway. */
export interface AdminClient {
  /** `http://HOST:PORT`. */
  readonly baseUrl: string;
  readonly clock: Clock;
  /** Any admin call; the parsed JSON answer. Throws `AlipayMockError` on 4xx/5xx. */
  call(method: string, path: string, body?: unknown, query?: Record<string, unknown>): Promise<any>;
  /** Forces the outcome of matching calls: a business code (`ZM_ACCOUNT_PAUSE`), a public sub_code, or `{ authorized }`. */
  force(outcome: ForcedOutcome, options?: ForceOptions): Promise<Scenario>;
  scenarios(options?: { appId?: string }): Promise<Scenario[]>;
  /** Records that `identity` authorised the app (default: the default app, C2B). */
  grant(identity: string, options?: { appId?: string; authCategory?: AuthCategory; openId?: string }): Promise<Authorization>;
  /** Revokes `identity`'s authorisations of the app; how many. 404 when there were none. */
  revoke(identity: string, options?: { appId?: string; authCategory?: AuthCategory }): Promise<number>;
  authorizations(options?: { appId?: string; identity?: string }): Promise<Authorization[]>;
  /** Puts an identity's account in `state`; the identity as stored. */
  setState(identity: string, state: AccountState): Promise<Record<string, unknown>>;
  /** An app as the gateway holds it. */
  app(appId?: string): Promise<Record<string, any>>;
  /** Replaces the random faults (of every app, or of `appId`). */
  setFaults(options?: FaultOptions): Promise<Record<string, unknown>>;
  clearFaults(options?: { appId?: string }): Promise<void>;
  /** The journal, oldest first. */
  requests(filter?: RequestFilter): Promise<JournalEntry[]>;
  /**
   * Stores or replaces what an OpenAPI method answers (a `MethodDefinition`: `method`,
   * `rules` with `when`/`answer`/`error`/`notify`, `mask`, `example`). Gateways with
   * `/__admin/methods` only.
   */
  defineMethod(definition: MethodDefinition): Promise<MethodDefinition>;
  methods(): Promise<MethodDefinition[]>;
  methodDefinition(method: string): Promise<MethodDefinition>;
  /** The method answers `40002 isv.invalid-method` again. */
  deleteMethod(method: string): Promise<void>;
  /**
   * Sends an asynchronous notification signed for `appId` (default the default app) to
   * `notifyUrl`, retried on Alipay's schedule until the handler answers `success`.
   * Gateways with `/__admin/notifications` only.
   */
  notify(notification: NotifyOptions): Promise<Notification>;
  notifications(filter?: { appId?: string; state?: NotificationState }): Promise<NotificationSummary[]>;
  /** One notification with its body, sign content and attempts. */
  notification(id: string): Promise<Notification>;
  /** Sends it now; the notification after the attempt. */
  retryNotification(id: string): Promise<Notification>;
  /** Deletes it; a pending one is never sent. */
  cancelNotification(id: string): Promise<void>;
  /** Back to the fixtures: records, scenarios, faults, journal, clock (or one app's). */
  reset(options?: { appId?: string }): Promise<void>;
}

export interface MethodDefinition {
  method: string;
  description?: string;
  rules: Array<{
    when?: Record<string, unknown>;
    answer?: Record<string, unknown>;
    error?: { code?: string; sub_code: string; sub_msg?: string };
    notify?: { params: Record<string, string>; delay_seconds?: number };
  }>;
  mask?: string[];
  example?: Record<string, unknown>;
}

export type NotificationState = 'pending' | 'delivered' | 'failed';

/** A line of the notification list. */
export interface NotificationSummary {
  id: string;
  app_id: string;
  notify_url: string;
  source: string;
  state: NotificationState;
  created_at: string;
  next_attempt_at?: string;
  /** How many attempts were made. */
  attempts: number;
  last_verdict?: string;
}

export interface NotifyOptions {
  notifyUrl: string;
  /** Business parameters (`notify_type`, `out_trade_no`, `trade_status`, …). */
  params?: Record<string, string>;
  appId?: string;
  signType?: 'RSA2' | 'RSA';
  charset?: 'utf-8' | 'gbk' | 'gb2312';
  /** Seconds on the gateway's clock before the first send. */
  delaySeconds?: number;
}

export interface Notification {
  id: string;
  seq: number;
  cert_mode?: boolean;
  app_id: string;
  notify_url: string;
  state: NotificationState;
  sign_type: string;
  charset: string;
  params: Array<[string, string]>;
  sign_content: string;
  body: string;
  created_at: string;
  source: string;
  next_attempt_at?: string;
  attempts: Array<{ number: number; at: string; status?: number; body?: string; latency_ms: number; error?: string; verdict: string }>;
}

/** A client of a gateway started elsewhere (`http://HOST:PORT`). */
export function adminClient(baseUrl: string, options?: { adminToken?: string }): AdminClient;

export interface StartOptions {
  /** The binary; default `resolveBinary()`. */
  bin?: string;
  /** Start with `--admin-token` and send it on every call. */
  adminToken?: string;
  /** More `serve` arguments, e.g. `['--timestamp-window', '15']`. */
  args?: string[];
  /** Default 30000. */
  startTimeoutMs?: number;
}

/** A running gateway of one's own. */
export interface AlipayMock extends AdminClient {
  /** `http://127.0.0.1:PORT/gateway.do`: the SDK's `gateway`. */
  readonly url: string;
  readonly port: number;
  readonly defaultApp: KeyApp;
  readonly certApp: CertApp;
  /** Stops the gateway; resolves once it has exited. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts `alipay-mock serve --ephemeral` on 127.0.0.1 and a free port. */
export function startAlipayMock(options?: StartOptions): Promise<AlipayMock>;
