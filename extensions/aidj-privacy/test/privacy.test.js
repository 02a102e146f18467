import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowed, inEffect, readBody, staffChangeRefusal } from '../src/index.js';

const USER = '6f1c1c6e-3b1d-4a3e-9d55-0d1f2a3b4c5d';

test('only an admin or a listed role may ask for erasure', () => {
	assert.equal(allowed(null, ['r1']), false);
	assert.equal(allowed({ role: 'r2', admin: false }, ['r1']), false);
	assert.equal(allowed({ role: 'r1', admin: false }, ['r1']), true);
	assert.equal(allowed({ role: null, admin: true }, []), true);
	assert.equal(allowed({ role: null, admin: false }, []), false);
});

test('the body names one user by uuid and adds the user to items and needles', () => {
	assert.equal(typeof readBody({ user: 'nope' }), 'string');
	assert.equal(typeof readBody({ user: USER, needles: ['abc'] }), 'string');
	const body = readBody({ user: USER, items: ['a', 7], needles: ['dj@example.com'] });
	assert.deepEqual(body.items, [USER, 'a', '7']);
	assert.deepEqual(body.needles, [USER, 'dj@example.com']);
});

test('a published legal text is frozen from the day it takes effect', () => {
	const row = { status: 'published', effective_date: '2026-11-29' };
	assert.equal(inEffect(row, '2026-11-29'), true);
	assert.equal(inEffect(row, '2026-11-28'), false);
	assert.equal(inEffect({ ...row, status: 'draft' }, '2027-01-01'), false);
	assert.equal(inEffect({ ...row, effective_date: new Date(2026, 10, 29) }, '2026-11-29'), true);
	assert.equal(inEffect({ ...row, effective_date: Date.UTC(2026, 10, 30) }, '2026-11-29'), false);
});

test('staff may only reject an open request, with a reason', () => {
	const open = [{ state: 'received', reason: null }];
	assert.equal(staffChangeRefusal({ state: 'rejected', reason: 'No such record.' }, open), null);
	assert.match(staffChangeRefusal({ state: 'rejected' }, open), /reason/);
	assert.match(staffChangeRefusal({ state: 'complete' }, open), /Only the service/);
	assert.match(staffChangeRefusal({ user: null }, open), /Only the service/);
	assert.match(staffChangeRefusal({ state: 'rejected', reason: 'x' }, [{ state: 'complete' }]), /closed/);
	assert.equal(staffChangeRefusal({ reason: 'typo fixed' }, open), null);
});
