/**
 * Which day the sandbox seeds. Decided in the centre's time zone from the injected clock: the
 * latest calendar day whose visits have all ended by now — yesterday, or the day before during the
 * first half hour after local midnight (the seeded day's last visit ends at 00:30 the next day).
 * Every visit of the seeded day has ended, so the claim sweep bills it at once, at any hour.
 */
import { generateInfusionDay } from './ehr/seed/generate.ts';
import { addDays, localDate } from '../time/zone.ts';

export function sandboxSeedDay(
  now: Date,
  options: { readonly timeZone: string; readonly patients?: number; readonly seed?: number },
): string {
  let date = addDays(localDate(now, options.timeZone), -1);
  for (;;) {
    const day = generateInfusionDay({
      date,
      timeZone: options.timeZone,
      ...(options.patients !== undefined ? { patients: options.patients } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
    });
    const last = Math.max(...day.timeline.map((step) => Date.parse(step.at)));
    if (!(last > now.getTime())) {
      return date;
    }
    date = addDays(date, -1);
  }
}
