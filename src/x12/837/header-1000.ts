/**
 * The head of an 837 transaction: ST, BHT, loop 1000A (submitter: NM1*41 and its PER contact) and
 * loop 1000B (receiver: NM1*40). The submitter and receiver are the interchange's parties.
 */
import { stSegment } from '../envelope.ts';
import { id, segment, text, utcStamp } from '../encode.ts';
import type { Claim837Input, Write837Options } from './types.ts';
import { IMPLEMENTATION } from './types.ts';

/** Appends ST, BHT, 1000A and 1000B to `out`. BHT03 is the group and transaction control numbers. */
export function writeHeader(
  out: string[],
  ctx: Claim837Input,
  stControl: string,
  options: Write837Options,
  claimId: string,
): void {
  const { ccyymmdd, hhmm } = utcStamp(options.now);
  out.push(stSegment('837', stControl, IMPLEMENTATION[options.kind]));
  out.push(
    segment(
      'BHT',
      '0019',
      '00',
      id(`${options.controlNumbers.gs}-${stControl}`, 'BHT03', 50),
      ccyymmdd,
      hhmm,
      'CH',
    ),
  );
  out.push(
    segment(
      'NM1',
      '41',
      '2',
      text(options.sender.name, 60),
      '',
      '',
      '',
      '',
      '46',
      id(options.sender.id, 'submitter id', 80),
    ),
  );
  const contact = options.sender.contact;
  const phone = (contact?.phone ?? ctx.provider.phone ?? '').replace(/\D/g, '');
  out.push(
    segment(
      'PER',
      'IC',
      text(contact?.name ?? options.sender.name, 60),
      ...(phone
        ? ['TE', phone]
        : ['EM', id(contact?.email, 'submitter contact phone or email (PER)', 256, claimId)]),
    ),
  );
  out.push(
    segment(
      'NM1',
      '40',
      '2',
      text(options.receiver.name, 60),
      '',
      '',
      '',
      '',
      '46',
      id(options.receiver.id, 'receiver id', 80),
    ),
  );
}
