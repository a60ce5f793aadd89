#!/bin/sh
echo hi

  indented
