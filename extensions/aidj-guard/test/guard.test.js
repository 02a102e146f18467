// The guard refuses unproven log-ins to DJ accounts and lets staff, the service and proven DJ
// log-ins through; run with `node --test extensions/`.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createGuard, loginProof, PROOF_FIELD, proofValid, thawQuery } from '../src/index.js';

const DJ_ROLE = 'b344c787-8d88-4adf-a5c8-b83ac47c0512';
const STAFF_ROLE = '45ef4900-741c-4632-b4f3-f4337eddd8d8';
const NOW = 1_800_000_000;
const users = { dj: DJ_ROLE, staff: STAFF_ROLE };

function database(table) {
	assert.equal(table, 'directus_users');
	let id;
	const query = {
		select: () => query,
		where: (_column, value) => ((id = value), query),
		first: async () => (users[id] ? { role: users[id] } : undefined),
	};
	return query;
}

function install(env = { AIDJ_GUARDED_ROLES: DJ_ROLE, HOOK_SECRET: 'current' }) {
	const filters = {};
	const logs = [];
	const logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) };
	const inits = {};
	createGuard({ now: () => NOW })(
		{ filter: (name, handler) => (filters[name] = handler), init: (name, handler) => (inits[name] = handler) },
		{ env, logger },
	);
	const login = (user, payload) => filters['auth.login'](payload, { user, provider: 'default' }, { database });
	return { filters, inits, logs, login };
}

test('a direct log-in to a DJ account is refused as wrong credentials, before any password check', async () => {
	const { login, logs } = install();
	await assert.rejects(login('dj', { email: 'dj@example.com', password: 'right' }), {
		name: 'DirectusError',
		code: 'INVALID_CREDENTIALS',
		status: 401,
	});
	assert.match(logs.at(-1), /refused a direct log-in/);
});

test('the service logs a DJ in with a fresh proof for that email', async () => {
	const { login } = install();
	const payload = { email: 'DJ@example.com', password: 'x', [PROOF_FIELD]: loginProof('current', NOW, 'dj@example.com') };
	assert.deepEqual(await login('dj', payload), payload);
});

test('a proof for another email, a stale one, a forged one or one under an unknown secret is refused', async () => {
	const { login } = install();
	for (const proof of [
		loginProof('current', NOW, 'other@example.com'),
		loginProof('current', NOW - 61, 'dj@example.com'),
		loginProof('guessed', NOW, 'dj@example.com'),
		`${NOW}.${'0'.repeat(64)}`,
		'garbage',
	]) {
		await assert.rejects(login('dj', { email: 'dj@example.com', password: 'x', [PROOF_FIELD]: proof }));
	}
});

test('the previous secret still works while the secret is rotated', () => {
	const proof = loginProof('old', NOW, 'dj@example.com');
	assert.equal(proofValid(proof, 'dj@example.com', ['new', 'old'], NOW), true);
	assert.equal(proofValid(proof, 'dj@example.com', ['new'], NOW), false);
});

test('staff and unknown users log in as Directus decides', async () => {
	const { login } = install();
	const payload = { email: 'staff@example.com', password: 'x' };
	assert.deepEqual(await login('staff', payload), payload);
	assert.deepEqual(await login('nobody', payload), payload);
});

test('without its settings the guard says so and guards no account', () => {
	const { filters, logs } = install({});
	assert.deepEqual(filters, {});
	assert.match(logs[0], /not set/);
});

test('the folders route gets a query it may add its filter to', () => {
	const { inits } = install();
	const mounted = [];
	inits['routes.before']({ app: { use: (path, handler) => mounted.push([path, handler]) } });
	assert.equal(mounted[0][0], '/folders');
	const req = { sanitizedQuery: Object.freeze({ limit: 10 }) };
	let called = false;
	thawQuery(req, {}, () => (called = true));
	assert.equal(called, true);
	assert.equal(Object.isFrozen(req.sanitizedQuery), false);
	req.sanitizedQuery.filter = { type: { _neq: 'flows' } };
	assert.deepEqual(req.sanitizedQuery, { limit: 10, filter: { type: { _neq: 'flows' } } });
});
