// aidj-guard: what the public can do at Directus's door.
//
// 1. DJ accounts log in only through the AIDJSets site. DJs never need Directus directly: the site checks their password through POST /auth/login and
// keeps the session itself. Anyone who can reach Directus could otherwise try passwords against a
// DJ's account there, and every wrong one would count towards Directus's failed-attempt limit. So a
// password log-in to an account of a guarded role (AIDJ_GUARDED_ROLES, the DJ role's id) must carry
// `aidj_login_proof: "<unix time>.<hex>"`, an HMAC-SHA256 with HOOK_SECRET (or HOOK_SECRET_PREVIOUS
// while rotating) over `login.<unix time>.<email in lower case>`, at most PROOF_MAX_AGE_S old. The
// `auth.login` filter runs before Directus checks the password or counts the attempt, so a refused
// log-in neither reveals the password nor counts. Staff and the service log in as before.
//
// 2. Directus 12.4.0 answers every non-admin GET /folders with a 500 (FoldersService adds a filter
// to the request's query, which Directus has frozen): the public got an error page instead of a
// 403, and staff could not list folders. A copy of the query lets Directus answer as designed.

import { createHmac, timingSafeEqual } from 'node:crypto';

export const PROOF_FIELD = 'aidj_login_proof';
export const PROOF_MAX_AGE_S = 60;

/** The proof the service sends with a DJ's log-in (the service computes the same). */
export function loginProof(secret, timestamp, email) {
	const digest = createHmac('sha256', secret)
		.update(`login.${timestamp}.${String(email).toLowerCase()}`)
		.digest('hex');
	return `${timestamp}.${digest}`;
}

/** True when `proof` was made for `email` with one of `secrets`, within PROOF_MAX_AGE_S of now. */
export function proofValid(proof, email, secrets, nowS = Date.now() / 1000) {
	if (typeof proof !== 'string' || typeof email !== 'string') return false;
	const [timestamp, digest] = proof.split('.');
	if (!/^\d{1,12}$/.test(timestamp ?? '') || !/^[0-9a-f]{64}$/.test(digest ?? '')) return false;
	if (Math.abs(nowS - Number(timestamp)) > PROOF_MAX_AGE_S) return false;
	const given = Buffer.from(proof);
	return secrets.some((secret) => {
		const wanted = Buffer.from(loginProof(secret, timestamp, email));
		return wanted.length === given.length && timingSafeEqual(wanted, given);
	});
}

/** The error Directus answers for wrong credentials (401 INVALID_CREDENTIALS), shaped as its own. */
export function invalidCredentials() {
	const error = new Error('Invalid user credentials.');
	error.name = 'DirectusError';
	error.code = 'INVALID_CREDENTIALS';
	error.status = 401;
	error.extensions = {};
	return error;
}

/** Express middleware: give the folders route a query it may add its own filter to. */
export function thawQuery(req, _res, next) {
	if (req.sanitizedQuery && Object.isFrozen(req.sanitizedQuery)) req.sanitizedQuery = { ...req.sanitizedQuery };
	next();
}

/** The hook: the folders fix, and an `auth.login` filter refusing unproven log-ins to DJ accounts. */
export function createGuard(overrides = {}) {
	return ({ filter, init }, { env, logger }) => {
		init?.('routes.before', ({ app }) => app.use('/folders', thawQuery));
		const roles = String(env.AIDJ_GUARDED_ROLES ?? '')
			.split(',')
			.map((role) => role.trim())
			.filter(Boolean);
		const secrets = [env.HOOK_SECRET, env.HOOK_SECRET_PREVIOUS].filter(Boolean).map(String);
		if (roles.length === 0 || secrets.length === 0) {
			logger.warn('aidj-guard: AIDJ_GUARDED_ROLES or HOOK_SECRET is not set; no account is guarded');
			return;
		}
		const now = overrides.now ?? (() => Date.now() / 1000);
		filter('auth.login', async (payload, meta, context) => {
			if (!meta?.user || (meta.provider && meta.provider !== 'default')) return payload;
			const row = await context.database('directus_users').select('role').where('id', meta.user).first();
			if (!row || !roles.includes(String(row.role))) return payload;
			if (proofValid(payload?.[PROOF_FIELD], payload?.email, secrets, now())) return payload;
			logger.warn('aidj-guard: refused a direct log-in to a guarded account');
			throw invalidCredentials();
		});
		logger.info(`aidj-guard: ${roles.length} role(s) log in only through the service`);
	};
}

export default createGuard();
