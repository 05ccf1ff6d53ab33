// Hearts floating up the video: one for every like tapped on this page at once, and some for
// the room's likes as they are added up (at most a few at a time, so a storm of likes stays a
// flurry). Each heart is an element with a CSS animation that removes itself when done; its
// drift is a custom property (no inline styles: the pages' security policy allows none).

const MAX_AT_ONCE = 6;
const MAX_ON_SCREEN = 30;
const COLOURS = 5;

export class Hearts {
  constructor(layer) {
    this.layer = layer;
    this.calm = matchMedia("(prefers-reduced-motion: reduce)");
  }

  float(count, mine = false) {
    if (this.calm.matches) return;
    const n = Math.min(count, MAX_AT_ONCE);
    for (let i = 0; i < n; i++) {
      if (this.layer.childElementCount >= MAX_ON_SCREEN) return;
      const heart = document.createElement("span");
      heart.className = `heart heart-${mine ? "mine" : (Math.floor(Math.random() * COLOURS) + 1)}`;
      heart.textContent = "♥";
      heart.style.setProperty("--drift", `${Math.round((Math.random() - 0.5) * 80)}px`);
      heart.style.setProperty("--delay", `${i * 120}ms`);
      heart.addEventListener("animationend", () => heart.remove());
      this.layer.append(heart);
    }
  }
}
