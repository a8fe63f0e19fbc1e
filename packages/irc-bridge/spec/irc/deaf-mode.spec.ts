import { strict as assert } from 'node:assert';
import { deafModeFor } from '../../src/irc/deaf-mode';

describe("irc: deafModeFor (deaf_mode: auto, from the server's 004)", () => {
  it('knows the deaf mode of the server families that have one, when the server lists it', () => {
    assert.equal(deafModeFor('InspIRCd-3', 'dioswx'), 'd');
    assert.equal(deafModeFor('InspIRCd-4', 'BIRdiorswx'), 'd');
    assert.equal(deafModeFor('UnrealIRCd-6.1.2', 'iowrsxzdHtIqpDGTZ'), 'd');
    assert.equal(deafModeFor('solanum-1.0-dev', 'DQRSZagiloswz'), 'D');
    assert.equal(deafModeFor('charybdis-4.1.2', 'DQRSZagiloswz'), 'D');
    assert.equal(deafModeFor('ircd-hybrid-8.2.43', 'DFGHRSWXabcdefgijklnopqrsuwxy'), 'D');
  });

  it('is off when the module is not loaded, for unknown servers and without a 004', () => {
    assert.equal(deafModeFor('InspIRCd-3', 'ioswx'), undefined, 'InspIRCd without m_deaf');
    assert.equal(deafModeFor('ergo-v2.14.0', 'BDZiorsw'), undefined, 'a family whose letter we do not know, even if D is listed');
    assert.equal(deafModeFor('ircd-seven-1.1.9', 'DQRSZagiloswz'), undefined);
    assert.equal(deafModeFor(undefined, 'd'), undefined);
    assert.equal(deafModeFor('InspIRCd-3', undefined), undefined);
  });
});
