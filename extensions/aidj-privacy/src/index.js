// aidj-privacy: forget a purged DJ in Directus's own tables.
//
// Directus copies data on its own: every change through the API leaves a `directus_activity` row
// (who, from which address, which item) and a `directus_revisions` row (the item's data and the
// change). Its REST API can read but never delete them, so the service's purge could not keep the
// privacy policy's promise that nothing naming an erased DJ remains. This hook adds one route:
//
//   POST /aidj-privacy/forget  {"user": "<uuid>", "items": ["<id>", ...], "needles": ["<text>", ...]}
//
// allowed only to an admin or to a role in AIDJ_PRIVACY_ROLES (the service's role). It deletes the
// revisions and activity rows made by the user, about the user or any of `items` (ids of the DJ's
// deleted rows and files), or whose copied data contains one of `needles` (the id, the email), and
// the user's sessions, notifications and comments. It answers the count per table.
//
// Only the service moves a privacy request through its states: anyone else (staff in the Studio, the
// admin) may only set an open request to rejected with a reason, so nothing runs unverified.
//
// It also keeps published legal texts as they were when they took effect: a `legal_documents`
// version that is published and in effect (effective_date today or earlier) can be neither changed
// nor deleted by anyone, so what a DJ accepted stays readable as it was. Staff start a new version
// ("Save as copy" in the Studio, with a new version and date) and publish that; the old one stays.

export const ROUTE = '/aidj-privacy/forget';
//   POST /aidj-privacy/revoke  {"user": "<uuid>"}: ends every Directus session of the user at once (a
//   deactivated account), without touching anything else. Same callers.
export const REVOKE_ROUTE = '/aidj-privacy/revoke';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The request body, checked; a reason string when it is unusable. */
export function readBody(body) {
	if (!body || typeof body !== 'object') return 'a JSON object is needed';
	const { user, items = [], needles = [] } = body;
	if (typeof user !== 'string' || !UUID.test(user)) return 'user must be a uuid';
	if (!Array.isArray(items) || items.some((item) => typeof item !== 'string' && typeof item !== 'number'))
		return 'items must be a list of ids';
	if (!Array.isArray(needles) || needles.some((n) => typeof n !== 'string' || n.length < 6))
		return 'needles must be strings of at least 6 characters';
	return { user, items: [...new Set([user, ...items.map(String)])], needles: [...new Set([user, ...needles])] };
}

/** True when the caller may ask for erasure. */
export function allowed(accountability, roles) {
	if (!accountability) return false;
	if (accountability.admin === true) return true;
	return Boolean(accountability.role) && roles.includes(String(accountability.role));
}

function chunks(list, size = 500) {
	const out = [];
	for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
	return out;
}

/** Delete what Directus keeps about `user`, `items` and `needles`; returns counts per table. */
export async function forget(database, { user, items, needles }) {
	return database.transaction(async (trx) => {
		const activity = new Set();
		const byUser = await trx('directus_activity').select('id').where('user', user);
		byUser.forEach((row) => activity.add(row.id));
		for (const part of chunks(items)) {
			(await trx('directus_activity').select('id').whereIn('item', part)).forEach((row) => activity.add(row.id));
		}
		const revisions = new Set();
		for (const part of chunks(items)) {
			(await trx('directus_revisions').select('id', 'activity').whereIn('item', part)).forEach((row) => {
				revisions.add(row.id);
				if (row.activity != null) activity.add(row.activity);
			});
		}
		for (const needle of needles) {
			const like = `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
			const rows = await trx('directus_revisions')
				.select('id', 'activity')
				.whereRaw("CAST(data AS TEXT) LIKE ? ESCAPE '\\'", [like])
				.orWhereRaw("CAST(delta AS TEXT) LIKE ? ESCAPE '\\'", [like]);
			rows.forEach((row) => {
				revisions.add(row.id);
				if (row.activity != null) activity.add(row.activity);
			});
		}
		for (const part of chunks([...activity])) {
			(await trx('directus_revisions').select('id').whereIn('activity', part)).forEach((row) => revisions.add(row.id));
		}
		const counts = { directus_revisions: 0, directus_activity: 0 };
		for (const part of chunks([...revisions])) {
			// A revision may point at its parent revision: clear those links first.
			await trx('directus_revisions').whereIn('parent', part).update({ parent: null });
			counts.directus_revisions += await trx('directus_revisions').whereIn('id', part).delete();
		}
		for (const part of chunks([...activity])) {
			counts.directus_activity += await trx('directus_activity').whereIn('id', part).delete();
		}
		counts.directus_sessions = await trx('directus_sessions').where('user', user).delete();
		counts.directus_notifications = await trx('directus_notifications')
			.where('recipient', user)
			.orWhere('sender', user)
			.delete();
		counts.directus_comments = await trx('directus_comments').where('user_created', user).delete();
		return counts;
	});
}

/** The error Directus answers for a refused change, shaped as its own. */
export function immutableError() {
	const error = new Error(
		'This version is published and in effect, so it cannot change: save it as a copy with a new version and date, then publish that.',
	);
	error.name = 'DirectusError';
	error.code = 'FORBIDDEN';
	error.status = 403;
	error.extensions = { reason: 'published legal documents are immutable' };
	return error;
}

/** True when a legal_documents row is published and in effect on `today` (YYYY-MM-DD). */
export function inEffect(row, today) {
	if (!row || row.status !== 'published' || !row.effective_date) return false;
	return dayOf(row.effective_date) <= today;
}

/** Fields anyone but the service may change on a privacy request: reject it, with a reason. */
export const STAFF_FIELDS = ['state', 'reason'];

/** Why a change to privacy requests by someone other than the service is refused (null: allowed). */
export function staffChangeRefusal(payload, existing) {
	const keys = Object.keys(payload ?? {});
	if (keys.some((key) => !STAFF_FIELDS.includes(key)))
		return 'Only the service moves a privacy request; staff may set it to Rejected with a reason.';
	if ('state' in payload && payload.state !== 'rejected')
		return 'Only the service moves a privacy request; staff may set it to Rejected with a reason.';
	const finals = ['complete', 'rejected', 'cancelled'];
	if ('state' in payload && existing.some((row) => finals.includes(row.state)))
		return 'This request is already closed.';
	const reason = 'reason' in payload ? payload.reason : null;
	if ('state' in payload && !(reason && String(reason).trim()) && existing.some((row) => !row.reason))
		return 'Give a reason: the DJ is mailed it.';
	return null;
}

function refused(message) {
	const error = new Error(message);
	error.name = 'DirectusError';
	error.code = 'FORBIDDEN';
	error.status = 403;
	error.extensions = { reason: message };
	return error;
}

/** YYYY-MM-DD of a date column: a string, a Date (PostgreSQL) or milliseconds (SQLite). */
export function dayOf(value) {
	if (typeof value === 'number') return new Date(value).toISOString().slice(0, 10);
	if (value instanceof Date) {
		const pad = (n) => String(n).padStart(2, '0');
		return `${value.getFullYear()}-${pad(value.getMonth() + 1)}-${pad(value.getDate())}`;
	}
	return String(value).slice(0, 10);
}

/** Fields the service may still write on a version in effect: the mailing's progress, nothing else. */
export const BOOKKEEPING = ['notice_progress', 'notified_count'];

/** True when an update changes only bookkeeping fields. */
export function onlyBookkeeping(payload) {
	const keys = Object.keys(payload ?? {});
	return keys.length > 0 && keys.every((key) => BOOKKEEPING.includes(key));
}

function todayUtc() {
	return new Date().toISOString().slice(0, 10);
}

/** The hook: the erasure route, and the guard on published legal documents. */
export function createPrivacy(overrides = {}) {
	const today = overrides.today ?? todayUtc;
	return ({ init, filter }, { env, logger, database }) => {
		const guard = async (keys, context) => {
			const ids = (Array.isArray(keys) ? keys : [keys]).filter((key) => key !== undefined && key !== null);
			if (ids.length === 0) return;
			const rows = await (context?.database ?? database)('legal_documents')
				.select('id', 'status', 'effective_date')
				.whereIn('id', ids);
			if (rows.some((row) => inEffect(row, today()))) throw immutableError();
		};
		filter?.('legal_documents.items.update', async (payload, meta, context) => {
			if (onlyBookkeeping(payload)) return payload; // the mailing job's progress
			await guard(meta?.keys, context);
			return payload;
		});
		filter?.('privacy_requests.items.update', async (payload, meta, context) => {
			const who = context?.accountability;
			if (!who || allowed({ ...who, admin: false }, roles)) return payload; // the service (or Directus itself)
			const ids = (meta?.keys ?? []).filter((key) => key !== undefined && key !== null);
			const existing = ids.length
				? await (context?.database ?? database)('privacy_requests').select('id', 'state', 'reason').whereIn('id', ids)
				: [];
			const reason = staffChangeRefusal(payload, existing);
			if (reason) throw refused(reason);
			return payload;
		});
		filter?.('legal_documents.items.delete', async (keys, _meta, context) => {
			await guard(keys, context);
			return keys;
		});
		const roles = String(env.AIDJ_PRIVACY_ROLES ?? '')
			.split(',')
			.map((role) => role.trim())
			.filter(Boolean);
		init?.('routes.before', ({ app }) => {
			app.post(REVOKE_ROUTE, async (req, res) => {
				if (!allowed(req.accountability, roles)) {
					res.status(403).json({ errors: [{ message: 'Forbidden', extensions: { code: 'FORBIDDEN' } }] });
					return;
				}
				const body = readBody({ user: req.body?.user });
				if (typeof body === 'string') {
					res.status(400).json({ errors: [{ message: body, extensions: { code: 'INVALID_PAYLOAD' } }] });
					return;
				}
				const sessions = await database('directus_sessions').where('user', body.user).delete();
				res.json({ data: { directus_sessions: sessions } });
			});
			app.post(ROUTE, async (req, res) => {
				if (!allowed(req.accountability, roles)) {
					res.status(403).json({ errors: [{ message: 'Forbidden', extensions: { code: 'FORBIDDEN' } }] });
					return;
				}
				const body = readBody(req.body);
				if (typeof body === 'string') {
					res.status(400).json({ errors: [{ message: body, extensions: { code: 'INVALID_PAYLOAD' } }] });
					return;
				}
				try {
					const counts = await forget(database, body);
					logger.info(`aidj-privacy: forgot one account (${JSON.stringify(counts)})`);
					res.json({ data: counts });
				} catch (error) {
					logger.error(`aidj-privacy: erasure failed: ${error.message}`);
					res.status(500).json({ errors: [{ message: 'erasure failed', extensions: { code: 'INTERNAL' } }] });
				}
			});
		});
	};
}

export default createPrivacy();
