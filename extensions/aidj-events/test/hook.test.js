// The hook forwards exactly the mapped events, signed, with a short bounded retry.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';

import hook, {
	createHook,
	deliver,
	keysOf,
	loadEventMap,
	matchesWhen,
	sign,
	SIGNATURE_HEADER,
	TIMESTAMP_HEADER,
} from '../src/index.js';
import distHook from '../dist/index.js';

const ENV = { SERVICE_URL: 'http://service.test/', HOOK_SECRET: 'shared-secret' };

function fakeLogger() {
	const lines = { info: [], warn: [], error: [] };
	return {
		lines,
		info: (m) => lines.info.push(m),
		warn: (m) => lines.warn.push(m),
		error: (m) => lines.error.push(m),
	};
}

function fakeDirectus() {
	const actions = new Map();
	return {
		actions,
		action: (name, handler) => actions.set(name, handler),
		fire: (name, meta, ctx = { accountability: { user: 'u-1' } }) => actions.get(name)?.(meta, ctx),
	};
}

function stubFetch(statuses) {
	const calls = [];
	const fetchImpl = async (url, init) => {
		calls.push({ url, init });
		const next = statuses.length > 1 ? statuses.shift() : statuses[0];
		if (next instanceof Error) throw next;
		return { ok: next >= 200 && next < 300, status: next };
	};
	return { calls, fetchImpl };
}

function install(fetchImpl, extra = {}) {
	const directus = fakeDirectus();
	const logger = fakeLogger();
	const deliveries = [];
	createHook({ fetchImpl, retryDelaysMs: [1, 1, 1], onDelivery: (p) => deliveries.push(p), ...extra })(
		{ action: directus.action },
		{ env: ENV, logger },
	);
	return { directus, logger, settle: () => Promise.all(deliveries) };
}

test('every forwarded event in service/data/events.json gets an action, and nothing else', () => {
	const map = loadEventMap();
	const { directus } = install(stubFetch([202]).fetchImpl);
	assert.deepEqual([...directus.actions.keys()].sort(), [...new Set(map.forward.map((r) => r.event))].sort());
});

test('the default export and dist/index.js are the same hook', () => {
	assert.equal(distHook, hook);
	assert.equal(typeof hook, 'function');
});

test('a created set is posted once, signed over timestamp and body', async () => {
	const stub = stubFetch([202]);
	const { directus, settle } = install(stub.fetchImpl);
	directus.fire('items.create', { collection: 'sets', key: 'abc-123', payload: { owner: 'u-1' } });
	await settle();
	assert.equal(stub.calls.length, 1);
	const { url, init } = stub.calls[0];
	assert.equal(url, 'http://service.test/hooks/directus');
	const body = JSON.parse(init.body);
	assert.deepEqual(Object.keys(body).sort(), ['collection', 'event', 'id', 'keys', 'ts', 'user']);
	assert.equal(body.event, 'items.create');
	assert.equal(body.collection, 'sets');
	assert.deepEqual(body.keys, ['abc-123']);
	assert.equal(body.user, 'u-1');
	const timestamp = init.headers[TIMESTAMP_HEADER];
	const expected = 'v1=' + createHmac('sha256', 'shared-secret').update(`${timestamp}.${init.body}`).digest('hex');
	assert.equal(init.headers[SIGNATURE_HEADER], expected);
	assert.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 5);
});

test('events on collections outside the map are not forwarded', async () => {
	const stub = stubFetch([202]);
	const { directus, settle } = install(stub.fetchImpl);
	directus.fire('items.create', { collection: 'consent_records', key: 7 });
	directus.fire('items.create', { collection: 'set_tracks', key: 8 });
	await settle();
	assert.equal(stub.calls.length, 0);
});

test('an update is forwarded only when it puts the item back to queued', async () => {
	const stub = stubFetch([202]);
	const { directus, settle } = install(stub.fetchImpl);
	directus.fire('items.update', { collection: 'sets', keys: ['s1'], payload: { status: 'running', progress: 30 } });
	directus.fire('items.update', { collection: 'sets', keys: ['s1'], payload: { title: 'x' } });
	directus.fire('items.update', { collection: 'playlists', keys: ['p1', 'p2'], payload: { status: 'queued' } });
	await settle();
	assert.equal(stub.calls.length, 1);
	assert.deepEqual(JSON.parse(stub.calls[0].init.body).keys, ['p1', 'p2']);
});

test('an event without an acting user is forwarded with user null', async () => {
	const stub = stubFetch([202]);
	const eventMap = {
		forward: [{ event: 'users.create', collection: 'directus_users', pipeline: 'welcome' }],
		pipelines: {},
	};
	const { directus, settle } = install(stub.fetchImpl, { eventMap });
	directus.fire('users.create', { collection: 'directus_users', key: 'user-9' }, {});
	await settle();
	const body = JSON.parse(stub.calls[0].init.body);
	assert.equal(body.collection, 'directus_users');
	assert.equal(body.user, null);
});

test('numeric keys arrive as strings', () => {
	assert.deepEqual(keysOf({ key: 42 }), ['42']);
	assert.deepEqual(keysOf({ keys: [1, '2'] }), ['1', '2']);
	assert.deepEqual(keysOf({}), []);
});

test('a 503 and a network error are retried, then delivery succeeds with the same event id', async () => {
	const stub = stubFetch([503, new TypeError('fetch failed'), 202]);
	const { directus, settle, logger } = install(stub.fetchImpl);
	directus.fire('items.create', { collection: 'playlists', key: 'p1' });
	await settle();
	assert.equal(stub.calls.length, 3);
	const ids = stub.calls.map((c) => JSON.parse(c.init.body).id);
	assert.equal(new Set(ids).size, 1);
	assert.equal(logger.lines.warn.length, 2);
	assert.equal(logger.lines.error.length, 0);
});

test('retries are bounded and the loss is logged', async () => {
	const stub = stubFetch([new TypeError('connect ECONNREFUSED')]);
	const logger = fakeLogger();
	const ok = await deliver(
		{ id: 'e1', event: 'items.create', collection: 'sets', keys: ['s'], user: null, ts: 1 },
		{ url: 'http://x/hooks/directus', secret: 's', logger, fetchImpl: stub.fetchImpl, retryDelaysMs: [1, 1, 1] },
	);
	assert.equal(ok, false);
	assert.equal(stub.calls.length, 4);
	assert.match(logger.lines.error[0], /not delivered after 4 attempts/);
});

test('a refusal (401) is not retried', async () => {
	const stub = stubFetch([401]);
	const logger = fakeLogger();
	const ok = await deliver(
		{ id: 'e2', event: 'items.create', collection: 'sets', keys: ['s'], user: null, ts: 1 },
		{ url: 'http://x/hooks/directus', secret: 's', logger, fetchImpl: stub.fetchImpl, retryDelaysMs: [1, 1] },
	);
	assert.equal(ok, false);
	assert.equal(stub.calls.length, 1);
	assert.match(logger.lines.error[0], /refused \(HTTP 401\)/);
});

test('a hanging service times out and counts as a failed attempt', async () => {
	const fetchImpl = (url, init) =>
		new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(init.signal.reason)));
	const logger = fakeLogger();
	// AbortSignal.timeout's timer does not keep the event loop alive on its own.
	const keepAlive = setTimeout(() => {}, 5000);
	const ok = await deliver(
		{ id: 'e3', event: 'items.create', collection: 'sets', keys: ['s'], user: null, ts: 1 },
		{ url: 'http://x', secret: 's', logger, fetchImpl, retryDelaysMs: [], timeoutMs: 20 },
	);
	assert.equal(ok, false);
	clearTimeout(keepAlive);
	assert.match(logger.lines.error[0], /timed out/);
});

test('without SERVICE_URL or HOOK_SECRET nothing is registered and a warning says why', () => {
	const directus = fakeDirectus();
	const logger = fakeLogger();
	createHook({ fetchImpl: stubFetch([202]).fetchImpl })({ action: directus.action }, { env: {}, logger });
	assert.equal(directus.actions.size, 0);
	assert.match(logger.lines.warn[0], /not set/);
});

test('matchesWhen needs every field of the condition', () => {
	assert.equal(matchesWhen(undefined, undefined), true);
	assert.equal(matchesWhen({ status: 'queued' }, { status: 'queued', progress: 0 }), true);
	assert.equal(matchesWhen({ status: 'queued' }, { progress: 0 }), false);
	assert.equal(matchesWhen({ status: 'queued' }, undefined), false);
});

test('the signature matches the one the service computes (shared test vector)', () => {
	assert.equal(
		sign('secret', '1700000000', '{"a":1}'),
		'v1=' + createHmac('sha256', 'secret').update('1700000000.{"a":1}').digest('hex'),
	);
});
