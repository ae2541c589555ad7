// The API reference page (/api/docs): Swagger UI over the caller's OpenAPI document, with
// "Try it out" calls sent like the app's own (session cookie, CSRF token header).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  var csrf = document.querySelector('meta[name="csrf-token"]');
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-document"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,            // no call to an outside validator
    defaultModelsExpandDepth: 0,
    requestInterceptor: function (req) {
      if (csrf) { req.headers["X-CSRF-Token"] = csrf.getAttribute("content"); }
      return req;
    }
  });
})();
