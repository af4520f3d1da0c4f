// Progressive enhancement for the guidelines reader; every link works without it.
document.addEventListener("DOMContentLoaded", () => {
  // The contents are a <details>: folded on phones, and beside the text (so open) on wide screens, where the
  // stylesheet shows them anyway; opening it keeps what assistive technology reports in line with the screen.
  const wide = window.matchMedia("(min-width: 62rem)");
  const contents = document.querySelector("details.toc");
  const follow = () => { if (contents) contents.open = wide.matches; };
  follow();
  wide.addEventListener("change", follow);
  // Edition and language switchers keep the reader's place: the provision they were reading
  // (the #anchor in the address) is carried over to the other edition.
  document.querySelectorAll("a[data-keep-place]").forEach((link) => {
    link.addEventListener("click", () => {
      if (window.location.hash && !link.hash) link.hash = window.location.hash;
    });
  });
});
