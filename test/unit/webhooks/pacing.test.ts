// Delivery pacing: waits grow while the service is busy, shrink as it calms, and never stop delivery for good.
import { expect } from 'chai';
import { DeliveryPacing } from '../../../src/webhooks/pacing.js';

describe('webhook delivery pacing', () => {
  it('when probes stay as fast as the fastest seen, then passes follow each other without waiting', () => {
    const pacing = new DeliveryPacing();
    for (const ms of [4, 5, 3, 6, 4, 5, 20]) pacing.observe(ms);
    expect(pacing.delayMs()).to.equal(0);
  });

  it('when probes become much slower, then the wait doubles up to its bound, and halves back to none as they recover', () => {
    const pacing = new DeliveryPacing();
    for (let i = 0; i < 10; i++) pacing.observe(4);
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      pacing.observe(200);
      waits.push(pacing.delayMs());
    }
    expect(waits).to.deep.equal([50, 100, 200, 400, 800, 1600, 2000, 2000]);
    const recovering: number[] = [];
    for (let i = 0; i < 7; i++) {
      pacing.observe(4);
      recovering.push(pacing.delayMs());
    }
    expect(recovering).to.deep.equal([1000, 500, 250, 125, 62.5, 0, 0]);
  });

  it('when the service stays slower for good, then that becomes the normal and delivery goes on at full pace', () => {
    const pacing = new DeliveryPacing();
    for (let i = 0; i < 10; i++) pacing.observe(4);
    let probes = 0;
    do {
      pacing.observe(60);
      probes++;
    } while (pacing.delayMs() > 0 && probes < 1000);
    expect(pacing.delayMs()).to.equal(0);
    expect(probes).to.be.within(20, 200);
  });
});
