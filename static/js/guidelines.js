// Progressive enhancement for the guidelines reader; every link works without it.
document.addEventListener("DOMContentLoaded", () => {
  // Edition and language switchers keep the reader's place: the provision they were reading
  // (the #anchor in the address) is carried over to the other edition.
  document.querySelectorAll("a[data-keep-place]").forEach((link) => {
    link.addEventListener("click", () => {
      if (window.location.hash && !link.hash) link.hash = window.location.hash;
    });
  });
});
