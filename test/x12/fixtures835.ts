/**
 * 835 remittances written for the reader tests (not from any payer): one that uses every loop the
 * 005010X221A1 defines and balances by every rule, and a builder that envelopes any transaction
 * set body with its SE01 counted, so a test can break exactly one thing.
 */
import { isa } from './fixtures.ts';

/** ISA + GS + ST, the body, SE (counted), GE, IEA; `*` `^` `:` `~` and CRLF between segments. */
export function enveloped(
  body: readonly string[],
  options: { control?: string; st?: string; lineBreak?: string; version?: string } = {},
): string {
  const control = options.control ?? '000000771';
  const st = options.st ?? '0001';
  const version = options.version ?? '005010X221A1';
  const segments = [
    isa('*', '^', ':', '~', control),
    `GS*HP*ACMEHEALTH*RIVERBEND*20261201*0930*${Number(control)}*X*${version}~`,
    `ST*835*${st}*${version}~`,
    ...body.map((s) => (s.endsWith('~') ? s : `${s}~`)),
    `SE*${body.length + 2}*${st}~`,
    `GE*1*${Number(control)}~`,
    `IEA*1*${control}~`,
  ];
  return segments.join(options.lineBreak ?? '\r\n');
}

/** The header of a transaction set paying `amount` (BPR02) by ACH, trace `trace`. */
export function header(amount: string, trace = 'EFT0001'): string[] {
  return [
    `BPR*I*${amount}*C*ACH*CCP*01*011000015*DA*123456*1512345678**01*021000021*DA*987654*20261203`,
    `TRN*1*${trace}*1512345678`,
    'CUR*PR*USD',
    'REF*EV*RIVERBEND01',
    'REF*F2*1',
    'DTM*405*20261201',
    'N1*PR*ACME HEALTH PLAN*XV*ACME01',
    'N3*PO BOX 100',
    'N4*COLUMBUS*OH*43215',
    'REF*2U*SBX-ACME',
    'PER*CX*CLAIMS*TE*8005550100',
    'PER*BL*EDI SUPPORT*TE*8005550101*EM*edi@acme.example',
    'N1*PE*RIVERBEND INFUSION*XX*1234567893',
    'N3*100 MAIN STREET',
    'N4*COLUMBUS*OH*432151234',
    'REF*TJ*123456789',
  ];
}

/**
 * Every loop: header number loops with TS3/TS2; a paid claim with claim-level CAS of groups OA and
 * PI, names QC IL 74 82 TT, MOA, REF, DTM, AMT, QTY and two lines (a recoded drug line with its
 * original procedure SVC06/SVC07, REF*6R, AMT*B6, LQ remarks, CO and PR adjustments); a denied
 * claim (CO-197); a reversal (CLP02 22, negative amounts); a secondary payment with MIA; a PLB
 * with an overpayment recovery and interest.
 *
 * Σ CLP04 = 850 + 0 − 400 + 440.50 = 890.50; Σ PLB = 200 − 0.50 = 199.50; BPR02 = 691.
 */
export const FULL_BODY: readonly string[] = [
  ...header('691'),
  'LX*1',
  'TS3*1234567893*11*20261231*2*2000',
  'TS2*100*50',
  'CLP*CLAIM-A*1*1200*850*150*12*PAYERCLM001*11*1',
  'CAS*OA*23*80',
  'CAS*PI*94*-10',
  'NM1*QC*1*GARCIA*MARIA*Q***MI*XYZ100000001',
  'NM1*IL*1*GARCIA*JUAN****MI*XYZ100000000',
  'NM1*74*1*GARCIA*MARIE',
  'NM1*82*1*NGUYEN*LINH****XX*1245319599',
  'NM1*TT*2*SECOND PAYER INC*****PI*SEC01',
  'MOA***MA01*N432',
  'REF*1L*GRP100',
  'DTM*232*20261102',
  'DTM*233*20261102',
  'DTM*050*20261120',
  'AMT*AU*1000',
  'QTY*CA*1',
  'SVC*HC:96365*400*300**1',
  'DTM*472*20261102',
  'CAS*CO*45*50',
  'CAS*PR*1*50',
  'REF*6R*CLAIM-A.1',
  'AMT*B6*350',
  'LQ*HE*N130',
  'SVC*HC:J1745:JZ*800*620**2*HC:J1745*3',
  'DTM*472*20261102',
  'CAS*CO*45*80',
  'CAS*PR*2*100',
  'REF*6R*CLAIM-A.2',
  'AMT*B6*720',
  'QTY*ZK*2',
  'LQ*HE*M20',
  'LQ*HE*N657',
  'CLP*CLAIM-B*4*300*0**12*PAYERCLM002*11*1',
  'CAS*CO*197*300',
  'NM1*QC*1*LEE*ANN****MI*XYZ2',
  'LX*2',
  'CLP*CLAIM-A*22*-500*-400**12*PAYERCLM000*11*1',
  'CAS*CO*45*-100',
  'NM1*QC*1*GARCIA*MARIA*Q***MI*XYZ100000001',
  'CLP*CLAIM-C*2*600*440.5*59.5*MA*PAYERCLM003*13*1',
  'CAS*CO*45*100',
  'CAS*PR*1*59.5',
  'NM1*QC*1*PARK*JIN****HN*1EG4TE5MK73',
  'MIA*1***0*MA15',
  'PLB*1234567893*20261231*WO:PAYERCLM999*200*L6*-.5',
];
