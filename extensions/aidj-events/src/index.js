// aidj-events: forward the Directus events named in the event map (service/data/events.json) to
// the AIDJSets service.
//
// Each mapped event becomes one POST to `${SERVICE_URL}/hooks/directus` with the body
// {id, event, collection, keys, user, ts}, signed with HMAC-SHA256 over `${timestamp}.${body}` using
// HOOK_SECRET (headers X-AIDJ-Timestamp and X-AIDJ-Signature: v1=<hex>). Directus actions fire after
// commit and are neither retried nor persisted, so we retry a few times with a short backoff and log;
// an event lost anyway is recovered by the service's sweep (the Directus row is the outbox).

import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

const DEFAULT_MAP_URL = new URL('../../../service/data/events.json', import.meta.url);
export const TIMESTAMP_HEADER = 'X-AIDJ-Timestamp';
export const SIGNATURE_HEADER = 'X-AIDJ-Signature';
export const DEFAULT_RETRY_DELAYS_MS = [250, 1000, 3000];
const DEFAULT_TIMEOUT_MS = 3000;

/** Read the one event map (service/data/events.json, or the file AIDJ_EVENT_MAP names). */
export function loadEventMap(path) {
	return JSON.parse(readFileSync(path ?? DEFAULT_MAP_URL, 'utf8'));
}

/** The `v1=<hex>` signature of `body` at `timestamp` (the service computes the same). */
export function sign(secret, timestamp, body) {
	return 'v1=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** True when an update's payload carries every field of the rule's `when` with that value. */
export function matchesWhen(when, payload) {
	if (!when || Object.keys(when).length === 0) return true;
	if (!payload) return false;
	return Object.entries(when).every(([field, value]) => payload[field] === value);
}

/** The keys an action's meta names (`key` on create, `keys` on update and delete), as strings. */
export function keysOf(meta) {
	const keys = meta.keys ?? (meta.key !== undefined ? [meta.key] : []);
	return keys.map((key) => String(key));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * POST one signed event; retry on network errors and 5xx/429, not on other 4xx (a retry would be
 * refused the same way). Resolves to true when the service accepted it.
 */
export async function deliver(event, options) {
	const { url, secret, logger, fetchImpl = globalThis.fetch, now = () => Date.now() } = options;
	const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
	const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
	const body = JSON.stringify(event);
	for (let attempt = 0; attempt <= delays.length; attempt++) {
		// Sign each attempt afresh so a late retry is not refused as stale.
		const timestamp = String(Math.floor(now() / 1000));
		let reason;
		try {
			const response = await fetchImpl(url, {
				method: 'POST',
				headers: {
					'Content-Type': 'application/json',
					[TIMESTAMP_HEADER]: timestamp,
					[SIGNATURE_HEADER]: sign(secret, timestamp, body),
				},
				body,
				signal: AbortSignal.timeout(timeoutMs),
			});
			if (response.ok) return true;
			reason = `HTTP ${response.status}`;
			if (response.status < 500 && response.status !== 429) {
				logger.error(`aidj-events: ${event.event} ${event.collection} ${event.id} refused (${reason})`);
				return false;
			}
		} catch (error) {
			reason = error?.name === 'TimeoutError' ? 'timed out' : (error?.message ?? String(error));
		}
		if (attempt < delays.length) {
			logger.warn(`aidj-events: ${event.event} ${event.id} failed (${reason}); retrying`);
			await sleep(delays[attempt]);
		} else {
			logger.error(
				`aidj-events: ${event.event} ${event.collection} ${event.id} not delivered after ` +
					`${attempt + 1} attempts (${reason}); the sweep will recover it`,
			);
		}
	}
	return false;
}

/** The hook: register one action per forwarded event name from the map. */
export function createHook(overrides = {}) {
	return ({ action }, { env, logger }) => {
		const map = overrides.eventMap ?? loadEventMap(env.AIDJ_EVENT_MAP || undefined);
		const serviceUrl = env.SERVICE_URL ? String(env.SERVICE_URL).replace(/\/+$/, '') : '';
		const secret = env.HOOK_SECRET ? String(env.HOOK_SECRET) : '';
		if (!serviceUrl || !secret) {
			logger.warn('aidj-events: SERVICE_URL or HOOK_SECRET is not set; no events are forwarded');
			return;
		}
		const byEvent = new Map();
		for (const rule of map.forward) {
			if (!byEvent.has(rule.event)) byEvent.set(rule.event, []);
			byEvent.get(rule.event).push(rule);
		}
		for (const [eventName, rules] of byEvent) {
			action(eventName, (meta, context) => {
				const collection = meta.collection;
				const rule = rules.find((r) => r.collection === collection && matchesWhen(r.when, meta.payload));
				if (!rule) return;
				const keys = keysOf(meta);
				if (keys.length === 0) return;
				const event = {
					id: randomUUID(),
					event: eventName,
					collection,
					keys,
					user: context?.accountability?.user ?? null,
					ts: Date.now() / 1000,
				};
				// Not awaited: the action must not hold up Directus's response.
				const pending = deliver(event, {
					url: `${serviceUrl}/hooks/directus`,
					secret,
					logger,
					fetchImpl: overrides.fetchImpl,
					retryDelaysMs: overrides.retryDelaysMs,
					timeoutMs: overrides.timeoutMs,
				}).catch((error) => logger.error(`aidj-events: ${error?.stack ?? error}`));
				overrides.onDelivery?.(pending);
			});
		}
		logger.info(`aidj-events: forwarding ${[...byEvent.keys()].join(', ')} to ${serviceUrl}`);
	};
}

export default createHook();
