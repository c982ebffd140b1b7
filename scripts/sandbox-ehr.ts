/**
 * `npm run sandbox:ehr`: a standalone sandbox EHR with today's seeded infusion day.
 *
 * Environment:
 *   SANDBOX_EHR_PORT        port (default 8090)
 *   SANDBOX_EHR_HOST        bind address (default 127.0.0.1)
 *   SANDBOX_EHR_PUBLIC_URL  the URL clients use, when not http://host:port
 *   SANDBOX_EHR_PATIENTS    patients with a visit today (default: the seed's own default)
 *   SANDBOX_EHR_SEED        PRNG seed (default 1)
 *   SANDBOX_EHR_TIME_ZONE   the centre's time zone, whose today is seeded (default America/New_York)
 *   SANDBOX_EHR_CLIENT_FILE where to write the generated client file (default: printed)
 *   SANDBOX_REPLAY_SPEED    when set, replays the day's timeline at this speed
 *                           (1 = real time, 60 = one minute per second, 0 = as fast as possible)
 *
 * At start it registers one SMART Backend Services client (scope `system/*.rs
 * system/Subscription.cruds`) and prints its client file: the same shape `dripline client create`
 * produces, so it can be used as an EHR connection's credentials or with `dripline token`.
 */
import { createLogger } from '../src/logger.ts';
import { startSandboxEhr } from '../src/sandbox/ehr/server.ts';
import { isTimeZoneName, localDate } from '../src/time/zone.ts';
import { issueClient, numberEnv, stopOnSignals } from './sandbox-party.ts';

const SCOPE = 'system/*.rs system/Subscription.cruds';

const TIME_ZONE = process.env['SANDBOX_EHR_TIME_ZONE'] ?? 'America/New_York';

/** Today in the centre's zone (not the machine's). */
function today(): string {
  if (!isTimeZoneName(TIME_ZONE)) {
    throw new Error(`SANDBOX_EHR_TIME_ZONE "${TIME_ZONE}" is not an IANA time zone name`);
  }
  return localDate(new Date(), TIME_ZONE);
}

async function main(): Promise<void> {
  const logger = createLogger('info');
  const patients = numberEnv('SANDBOX_EHR_PATIENTS', { fractions: true });
  const seed = numberEnv('SANDBOX_EHR_SEED', { fractions: true });
  const publicUrl = process.env['SANDBOX_EHR_PUBLIC_URL'];
  const ehr = await startSandboxEhr({
    port: numberEnv('SANDBOX_EHR_PORT', { fractions: true }) ?? 8090,
    host: process.env['SANDBOX_EHR_HOST'] ?? '127.0.0.1',
    ...(publicUrl ? { publicUrl } : {}),
    seed: {
      date: today(),
      ...(patients !== undefined ? { patients } : {}),
      ...(seed !== undefined ? { seed } : {}),
      timeZone: TIME_ZONE,
    },
    logger,
  });

  console.log(`Sandbox EHR listening on ${ehr.url}`);
  console.log(`  FHIR base:     ${ehr.fhirBaseUrl}   (metadata: ${ehr.fhirBaseUrl}/metadata)`);
  console.log(`  Token URL:     ${ehr.tokenUrl}   (SMART Backend Services, private_key_jwt, ES384/RS384)`);
  console.log(`  Seeded day:    ${today()} (${TIME_ZONE})`);
  await issueClient(ehr, {
    scope: SCOPE,
    kid: 'sandbox-ehr-client',
    fileEnv: 'SANDBOX_EHR_CLIENT_FILE',
    server: 'src/sandbox/ehr/server.ts',
  });
  stopOnSignals(() => ehr.stop());

  const speed = numberEnv('SANDBOX_REPLAY_SPEED', { fractions: true });
  if (speed !== undefined) {
    console.log(`Replaying the day at speed ${speed}...`);
    await ehr.replay({ speed });
    await ehr.idle();
    console.log('Replay finished; the sandbox EHR keeps serving (Ctrl-C to stop).');
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
