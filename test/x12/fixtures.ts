/**
 * X12 inputs written for the parser tests (not from any payer): an 835-like remittance and a
 * 271-like eligibility answer, with different delimiters and line ends.
 */

/** A fixed-width ISA with the given delimiters (element, repetition or ISA11, component, terminator). */
export function isa(
  el: string,
  rep: string,
  comp: string,
  term: string,
  control: string,
  version = '00501',
): string {
  const pad = (v: string, n: number): string => v.padEnd(n, ' ');
  const fields = [
    '00',
    pad('', 10),
    '00',
    pad('', 10),
    'ZZ',
    pad('ACMEHEALTH', 15),
    'ZZ',
    pad('RIVERBEND', 15),
    '261201',
    '0930',
    rep,
    version,
    control,
    '0',
    'T',
    comp,
  ];
  const s = `ISA${el}${fields.join(el)}${term}`;
  if (s.length !== 106) {
    throw new Error(`fixture ISA has ${s.length} characters, not 106`);
  }
  return s;
}

/** An 835-like remittance: `*` `^` `:` `~`, each segment on its own line (CRLF). */
export const REMIT_835 = [
  isa('*', '^', ':', '~', '000000905'),
  'GS*HP*ACMEHEALTH*RIVERBEND*20261201*0930*905*X*005010X221A1~',
  'ST*835*0001*005010X221A1~',
  'BPR*I*3300*C*ACH*CCP*01*011000015*DA*123456*1512345678**01*021000021*DA*987654*20261203~',
  'TRN*1*EFT20261203001*1512345678~',
  'DTM*405*20261201~',
  'N1*PR*ACME HEALTH PLAN~',
  'N1*PE*RIVERBEND INFUSION CENTER*XX*1234567893~',
  'LX*1~',
  'CLP*clm-office-1*1*4548.52*3300*300*12*2026120100017*11:B:1~',
  'NM1*QC*1*GARCIA*MARIA*Q***MI*XYZ100000001~',
  'SVC*HC:96365*250*200**1~',
  'DTM*472*20261102~',
  'CAS*CO*45*50~',
  'SVC*HC:J1745:JW*198.02*0**2~',
  'CAS*CO*96*198.02~',
  'LQ*HE*N362~',
  'SE*16*0001~',
  'GE*1*905~',
  'IEA*1*000000905~',
].join('\r\n');

/**
 * A 271-like eligibility answer with other delimiters: `|` elements, `{` repetitions, `>`
 * components, and a newline (LF) as the segment terminator.
 */
export const ELIGIBILITY_271 =
  [
    isa('|', '{', '>', '\n', '000000412') + 'GS|HB|ACMEHEALTH|RIVERBEND|20261201|0930|412|X|005010X279A1',
    'ST|271|0001|005010X279A1',
    'BHT|0022|11|ELIG-7731|20261201|0930',
    'HL|1||20|1',
    'NM1|PR|2|ACME HEALTH PLAN|||||PI|60054',
    'HL|2|1|21|1',
    'NM1|1P|2|RIVERBEND INFUSION CENTER|||||XX|1234567893',
    'HL|3|2|22|0',
    'NM1|IL|1|GARCIA|MARIA||||MI|XYZ100000001',
    'DMG|D8|19540113|F',
    'EB|1|IND|1{33{98|C1|ACME GOLD PPO',
    'EB|C|IND|30||||23|500',
    'EB|B|IND|98|||27|40|||||Y|HC>96365',
    'III|ZZ|11',
    'SE|14|0001',
    'GE|1|412',
    'IEA|1|000000412',
  ].join('\n') + '\n';
