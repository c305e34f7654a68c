# Databricks notebook source
# MAGIC %md
# MAGIC # Using MLflow to Track Experiments (Spark ML)
# MAGIC
# MAGIC ## Running an Experiment
# MAGIC In this exercise, you will use the NYC taxi dataset to train a model that predicts the total fare of a
# MAGIC taxi ride from a subset of the NYC Taxi & Limousine Commission green taxi trip records. You will train
# MAGIC variants of one linear regression model, changing its **hyperparameters** to try to achieve better
# MAGIC performance.
# MAGIC
# MAGIC This is the **Spark ML** version of the lab: the data is a Spark DataFrame, the featurization a Spark ML
# MAGIC `Pipeline` and the model Spark ML's `LinearRegression`, so the same code scales from the lab's few
# MAGIC thousand trips to data that does not fit on one machine. The scikit-learn notebook next to this one,
# MAGIC `01-using-mlflow-to-track-experiments`, teaches the same MLflow lesson with pandas and scikit-learn.
# MAGIC
# MAGIC You will also use MLflow to log the parameters, metrics, model and a plot of each attempt. Keeping track
# MAGIC of results by hand in a spreadsheet is possible but inefficient and easy to get wrong; it is better to
# MAGIC record them as close to the training code as possible. With MLflow you create an **experiment**: a
# MAGIC collection of **runs**, each run one attempt at training. Here every run tries a different set of
# MAGIC hyperparameters for the same algorithm and data, so you can compare which fares best. Experiments can
# MAGIC hold other kinds of comparison too, such as one algorithm per run, or one subset of the data per run.

# COMMAND ----------

# MAGIC %md
# MAGIC ### Start your cluster
# MAGIC Attach this notebook to a cluster running a **Databricks Runtime for Machine Learning** (an LTS ML
# MAGIC runtime: 15.4 or 16.4, which run Spark 3.5, or 17.3 or 18, which run Spark 4). It comes with Spark,
# MAGIC MLflow and matplotlib, and defines `spark`, the notebook's `SparkSession`. The code below is the same
# MAGIC for Spark 3.5 and Spark 4.
# MAGIC
# MAGIC The next cell runs the lab's Spark setup notebook, which runs the lab's setup notebook and defines
# MAGIC `load_spark_trips()` and a few helpers.

# COMMAND ----------

# DBTITLE 1,Run the lab's setup notebooks
# MAGIC %run ./includes/spark_setup

# COMMAND ----------

# DBTITLE 1,Import libraries
import logging
import math
import os
import tempfile
import warnings

import matplotlib.pyplot as plt
import mlflow
import mlflow.spark
import numpy as np
from mlflow.models import infer_signature
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.evaluation import RegressionEvaluator
from pyspark.ml.feature import Imputer, MinMaxScaler, OneHotEncoder, StringIndexer, VectorAssembler
from pyspark.ml.regression import LinearRegression
from pyspark.sql import functions as F  # noqa: N812 (PySpark's usual name)

print(f"Loaded libraries: MLflow {mlflow.__version__}, Spark {spark.version}")

# COMMAND ----------

# MAGIC %md
# MAGIC ### Parameters
# MAGIC The lab has two parameters. Leave them blank to use the defaults; a job (or the local runner's `--param`)
# MAGIC can set them.
# MAGIC - `data_path`: a CSV file of trips, as Spark reads it: a volume path (`/Volumes/...`), a DBFS path
# MAGIC   (`dbfs:/...` or `/dbfs/...`) or a workspace file (`/Workspace/...`). Blank: the `nyc_taxi` table
# MAGIC   created in the course's first lab, or else the lab's CSV file, found as the scikit-learn notebook
# MAGIC   finds it.
# MAGIC - `experiment_name`: the MLflow experiment that receives the runs. Blank:
# MAGIC   `/Users/<you>/dp090-using-mlflow-to-track-experiments-spark-ml` in a workspace,
# MAGIC   `dp090-using-mlflow-to-track-experiments-spark-ml` elsewhere: an experiment of its own, so that the
# MAGIC   runs of the two notebooks do not mix.
# MAGIC
# MAGIC Databricks ML runtimes turn on MLflow **autologging**, which logs every Spark ML model fit on its own,
# MAGIC even fits outside a run, such as the featurization below. This lab logs each run by hand, to show every
# MAGIC call, so the cell turns autologging off for this notebook.

# COMMAND ----------

# DBTITLE 1,Parameters: data and experiment
dbutils.widgets.text("data_path", "", "Trips CSV (blank: nyc_taxi table)")
dbutils.widgets.text("experiment_name", "", "MLflow experiment (blank: default)")

data_path = dbutils.widgets.get("data_path")
# The scikit-learn notebook's default experiment name, with "-spark-ml" added.
experiment_name = dbutils.widgets.get("experiment_name") or default_experiment_name() + "-spark-ml"

# Every run this notebook starts goes to this experiment; it is created if it does not exist yet.
experiment = mlflow.set_experiment(experiment_name)
print(f"MLflow experiment: {experiment.name} (id {experiment.experiment_id})")

# Log by hand only: no automatic runs for the Spark ML fits of this notebook.
mlflow.autolog(disable=True)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Load the training data
# MAGIC
# MAGIC The data is a subset of the NYC Taxi & Limousine Commission green taxi trip records from
# MAGIC [Azure Open Datasets](https://azure.microsoft.com/services/open-datasets/), enriched with holiday and
# MAGIC weather data. Each row is one taxi ride: number of passengers, trip distance, hour, day and month,
# MAGIC holiday and weather information, and the total amount paid for the trip, which the model will predict.
# MAGIC
# MAGIC Run the following cell to load the data into a Spark DataFrame and review it. It prints where the data
# MAGIC came from; if that says **SYNTHETIC**, the real data was not available and the cell made up trips with
# MAGIC the same columns, so the numbers you see later will differ from a run on the real data.

# COMMAND ----------

# DBTITLE 1,Load the data
trips, trips_source = load_spark_trips(data_path)
print(f"Loaded {trips.count():,} trips from {trips_source}")
display(trips)

# COMMAND ----------

# MAGIC %md
# MAGIC ### Featurize the data
# MAGIC
# MAGIC The following cell prepares the data as the course's earlier lab did:
# MAGIC - `hour_of_day` becomes two cyclical features, its sine and cosine, so that 23:00 and 00:00 are close;
# MAGIC - rows without a `totalAmount` (the label) are dropped, and `isPaidTimeOff` becomes an integer, as
# MAGIC   `day_of_week` and `month_num` are (all three 64-bit integers, `long`, like pandas' whole numbers);
# MAGIC - an `Imputer` replaces a missing `passengerCount` by the median, and a `VectorAssembler` and a
# MAGIC   `MinMaxScaler` gather the numerical columns into one vector scaled to [0, 1];
# MAGIC - a `StringIndexer` and a `OneHotEncoder` encode the categorical columns, all four in one stage each;
# MAGIC - a last `VectorAssembler` puts everything into one vector column, `features`, the input of the model.
# MAGIC
# MAGIC The sine and cosine are computed with Spark's **built-in column functions**, `F.sin` and `F.cos`, and
# MAGIC not with a Python user-defined function (UDF), as the course's first version of this lab did. A Python
# MAGIC UDF runs in Python worker processes: Spark has to serialize the rows, send them from the JVM to Python
# MAGIC and the results back. Built-in functions run inside Spark's JVM, where the query optimizer sees them
# MAGIC and compiles them together with the rest of the query. Reach for a UDF only when no built-in function
# MAGIC does the job.
# MAGIC
# MAGIC Spark ML's `StringIndexer` gives each category a number, the most frequent first. Its `handleInvalid`
# MAGIC setting says what to do with a category it did not see in the training data: `"error"` (the default)
# MAGIC fails, `"skip"` drops the row, which would silently remove trips from the test set and from the
# MAGIC logged model's predictions; `"keep"`, used here, gives all such categories one extra number of their
# MAGIC own. The `OneHotEncoder` then drops the last category by default (`dropLast=True`), which here is that
# MAGIC extra one, so an unseen category is encoded as all zeros, as scikit-learn's
# MAGIC `OneHotEncoder(handle_unknown="ignore")` does.
# MAGIC
# MAGIC The data is split into 70% for training and 30% for testing with `randomSplit`, with a fixed seed so
# MAGIC that every run sees the same split. The featurization is a `Pipeline` **fitted on the training data
# MAGIC only**, so that the median, the scaling and the categories are learned without looking at the test
# MAGIC data. Both DataFrames are cached: every run reads them several times.

# COMMAND ----------

# DBTITLE 1,Featurize and split
hour_angle = F.col("hour_of_day") * (2.0 * math.pi / 24)
trips_clean = (
    trips.withColumn("hour_sine", F.sin(hour_angle))
    .withColumn("hour_cosine", F.cos(hour_angle))
    .drop("hour_of_day")
    .filter(F.col("totalAmount").isNotNull())
    # isPaidTimeOff (true or false) as an integer, and all three whole-number columns as 64-bit integers:
    # Spark's long is pandas' int64, so the logged model also takes a pandas DataFrame (MLflow's pyfunc flavor).
    .withColumns({column: F.col(column).cast("long") for column in ["isPaidTimeOff", "day_of_week", "month_num"]})
    # A trip on no holiday has the holiday name "None" in the course's table; fill it in where it is missing.
    .fillna({"normalizeHolidayName": "None"})
)

numerical_cols = ["passengerCount", "tripDistance", "snowDepth", "precipTime", "precipDepth", "temperature",
                  "hour_sine", "hour_cosine"]  # fmt: skip
categorical_cols = ["day_of_week", "month_num", "normalizeHolidayName", "isPaidTimeOff"]
label_column = "totalAmount"
feature_columns = numerical_cols + categorical_cols

index_cols = [f"{column}_index" for column in categorical_cols]
vector_cols = [f"{column}_vector" for column in categorical_cols]
featurizer = Pipeline(stages=[
    Imputer(strategy="median", inputCols=["passengerCount"], outputCols=["passengerCount"]),
    VectorAssembler(inputCols=numerical_cols, outputCol="numerical_features"),
    MinMaxScaler(inputCol="numerical_features", outputCol="scaled_numerical_features"),
    StringIndexer(inputCols=categorical_cols, outputCols=index_cols, handleInvalid="keep"),
    OneHotEncoder(inputCols=index_cols, outputCols=vector_cols),
    VectorAssembler(inputCols=vector_cols + ["scaled_numerical_features"], outputCol="features"),
])  # fmt: skip

train_df, test_df = trips_clean.randomSplit([0.7, 0.3], seed=97)
train_df, test_df = train_df.cache(), test_df.cache()
featurizer_model = featurizer.fit(train_df)

feature_count = featurizer_model.transform(train_df.limit(1)).first()["features"].size
print(f"Created datasets: {train_df.count():,} training rows, {test_df.count():,} test rows")
print(f"Each trip becomes one features vector of {feature_count} numbers")

# COMMAND ----------

# MAGIC %md
# MAGIC ### Plot regression quality
# MAGIC
# MAGIC This function gives a visual overview of a model's performance: each test trip is a red dot at its
# MAGIC actual fare (x) and predicted fare (y), on logarithmic axes; a perfect model would put every dot on the
# MAGIC blue diagonal. It saves the plot as a PNG file, which the training function logs to MLflow.
# MAGIC
# MAGIC The plot is drawn on the driver, so the function brings the two columns it needs there with
# MAGIC `collect()`; on a large test set it first takes a random sample of about `max_points` trips.

# COMMAND ----------

# DBTITLE 1,Plot function
def plot_regression_quality(predictions, label_column, png_path, max_points=10_000):
    count = predictions.count()
    if count > max_points:
        predictions = predictions.sample(fraction=max_points / count, seed=97)
    # collect(), not toPandas(): two columns of numbers need no pandas, and with pandas 3 Spark 4.0's
    # toPandas() warns (Pandas4Warning) about an argument that pandas deprecated.
    rows = predictions.select(label_column, "prediction").collect()
    actual = np.array([row[label_column] for row in rows])
    predicted = np.array([row["prediction"] for row in rows])

    figure, axes = plt.subplots(figsize=(8, 8))
    axes.scatter(actual, predicted, c="crimson", s=6, alpha=0.5)
    axes.set_xscale("log")
    axes.set_yscale("log")

    # Log axes show positive values only; the diagonal spans the positive range of both.
    values = np.concatenate([actual, predicted])
    low, high = values[values > 0].min(), values.max()
    axes.plot([low, high], [low, high], "b-")
    axes.set_xlabel("True values", fontsize=15)
    axes.set_ylabel("Predictions", fontsize=15)

    figure.savefig(png_path)
    plt.close(figure)
    return figure


print("Created regression quality plot function")

# COMMAND ----------

# MAGIC %md
# MAGIC ### Create an MLflow run
# MAGIC
# MAGIC The next function trains a linear regression model on `train_df` and evaluates it on `test_df`.
# MAGIC
# MAGIC You will call it several times. Each call sets three hyperparameters of Spark ML's `LinearRegression`:
# MAGIC - `elastic_net_param` (`elasticNetParam`), the ElasticNet mixing parameter: 0 is a pure L2 penalty
# MAGIC   (ridge), 1 a pure L1 penalty (lasso);
# MAGIC - `reg_param` (`regParam`), the strength of that penalty (regularization); 0 means no penalty;
# MAGIC - `max_iter` (`maxIter`), the maximum number of iterations the solver may take.
# MAGIC
# MAGIC Spark solves the problem in one of two ways. Without an L1 penalty it first tries the **closed form**,
# MAGIC the normal equations, where `max_iter` plays no part. That fails when some features can be computed
# MAGIC from others; Spark then falls back to an **iterative solver** (L-BFGS, or its variant OWL-QN when there
# MAGIC is an L1 penalty, which always needs it), and that solver stops after at most `max_iter` iterations. The
# MAGIC function prints which happened.
# MAGIC
# MAGIC Inside one MLflow run the function records:
# MAGIC * the parameters, with `mlflow.log_params`;
# MAGIC * the metrics RMSE, MAE and R², computed by a `RegressionEvaluator`, with `mlflow.log_metrics`;
# MAGIC * the model, with `mlflow.spark.log_model`: the fitted featurization and the regression together, as
# MAGIC   one `PipelineModel`, so the logged model takes the trips' columns as they are, not a features vector;
# MAGIC * an arbitrary file, the plot of predicted versus actual amounts, with `mlflow.log_artifact`.
# MAGIC
# MAGIC **Tip:** Use `with mlflow.start_run():` to create a new MLflow run. This is the recommended way to use
# MAGIC MLflow in notebook cells: whether your code completes or fails, the `with` block closes the run, so you
# MAGIC don't have to call `mlflow.end_run()`.
# MAGIC
# MAGIC `mlflow.spark.log_model` takes the model's name in the run, `"model"`, as its second argument
# MAGIC (`artifact_path`) in MLflow 2 (ML runtimes 15.4 and 16.4 LTS) and MLflow 3 (17.3 LTS and later) alike;
# MAGIC the scikit-learn notebook's `mlflow.sklearn.log_model` needs `name=` with MLflow 3 instead. The model's
# MAGIC **signature**, the columns and types it takes and returns, comes from the Spark DataFrames' schemas.
# MAGIC Passing the model's `pip_requirements` (the packages it needs, at the versions that trained it) saves
# MAGIC MLflow a few seconds per run that it would otherwise spend working them out.

# COMMAND ----------

# DBTITLE 1,Training function
# pyspark at the cluster's version (found the way MLflow finds it), and the libraries MLflow loads it with.
model_requirements = mlflow.spark.get_default_pip_requirements() + pinned_requirements(["mlflow", "pandas", "numpy"])

# infer_signature warns ("Hint: Inferred schema contains integer column(s)") that integer columns cannot hold
# missing values. day_of_week, month_num and isPaidTimeOff are whole numbers on purpose: StringIndexer indexes
# a value's text, and "4.0" is not "4". Silence that hint.
warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column", category=UserWarning)


def eval_metrics(predictions, label_column):
    evaluator = RegressionEvaluator(labelCol=label_column, predictionCol="prediction")
    rmse = evaluator.setMetricName("rmse").evaluate(predictions)
    mae = evaluator.setMetricName("mae").evaluate(predictions)
    r2 = evaluator.setMetricName("r2").evaluate(predictions)
    return rmse, mae, r2


def train_nyc_taxi(train_df, test_df, label_column, elastic_net_param, reg_param, max_iter):
    check_hyperparameters(elastic_net_param, reg_param, max_iter)  # before a run is started for them
    lr = LinearRegression(featuresCol="features", labelCol=label_column,
                          elasticNetParam=elastic_net_param, regParam=reg_param, maxIter=max_iter)  # fmt: skip

    # Start an MLflow run; the "with" keyword ensures we'll close the run even if this cell crashes
    with mlflow.start_run() as run:
        lr_model = lr.fit(featurizer_model.transform(train_df))
        # The fitted featurization and the regression as one model, from the trips' columns to a prediction
        model = PipelineModel(stages=[featurizer_model, lr_model])
        # Keep the two columns the evaluation needs, cached: the metrics and the plot read them several times
        predictions = model.transform(test_df).select(label_column, "prediction").cache()
        (rmse, mae, r2) = eval_metrics(predictions, label_column)

        # Print out model metrics
        print(f"Linear regression model (elastic_net_param={elastic_net_param}, reg_param={reg_param}, "
              f"max_iter={max_iter}):")  # fmt: skip
        iterations = lr_model.summary.totalIterations
        if iterations == 0:
            print("  solved in closed form (normal equations); max_iter does not apply")
        elif iterations >= max_iter:
            print(f"  the solver took {iterations} of at most {max_iter} iterations: stopped by max_iter")
        else:
            print(f"  the solver took {iterations} of at most {max_iter} iterations")
        print(f"  RMSE: {rmse:.4f}")
        print(f"  MAE:  {mae:.4f}")
        print(f"  R2:   {r2:.4f}")

        # Log hyperparameters and evaluation metrics for the MLflow UI
        mlflow.log_params({"elastic_net_param": elastic_net_param, "reg_param": reg_param, "max_iter": max_iter})
        mlflow.log_metrics({"rmse": rmse, "mae": mae, "r2": r2})

        # Log the model itself, with the input columns and output it expects (its signature)
        signature = infer_signature(test_df.select(feature_columns), predictions.select("prediction"))
        mlflow.spark.log_model(model, "model", signature=signature, pip_requirements=model_requirements)

        # Generate a plot and log it (an artifact: any file you want to keep with the run)
        png_path = os.path.join(tempfile.mkdtemp(), "LinearRegressionPrediction.png")
        figure = plot_regression_quality(predictions, label_column, png_path)
        mlflow.log_artifact(png_path)

    return {"run_id": run.info.run_id, "rmse": rmse, "mae": mae, "r2": r2, "iterations": iterations,
            "predictions": predictions, "figure": figure}  # fmt: skip


print("Created training and evaluation function")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Experiment with different parameters
# MAGIC
# MAGIC Call `train_nyc_taxi` with different parameters. Later, you'll review each of these runs in the MLflow
# MAGIC experiment. The first run uses no penalty at all (`reg_param = 0`): ordinary least squares, and only
# MAGIC one iteration (`max_iter = 1`), which matters only if Spark cannot solve it in closed form.

# COMMAND ----------

# DBTITLE 1,Run 1: least squares
# L2 penalty, regularization parameter 0.0, 1 iteration
run_1 = train_nyc_taxi(train_df, test_df, label_column, 0.0, 0.0, 1)

# COMMAND ----------

# MAGIC %md
# MAGIC R² is the share of the variance of the total amount in the test data that the model explains (1 would
# MAGIC be perfect). The root mean square error (RMSE) and the mean absolute error (MAE) estimate how far off
# MAGIC the predictions are, in dollars; RMSE penalizes distant values more than MAE does. For our purposes,
# MAGIC RMSE and R² are the measures of quality. The next cell puts this run's numbers into words.
# MAGIC
# MAGIC On the lab's data Spark cannot use the closed form: some features can be computed from others.
# MAGIC `isPaidTimeOff` is 1 on exactly the holidays, which the encoded holiday name already says, and each
# MAGIC categorical column's encoding adds up to 1 on every row, as the constant term of the model does. Spark
# MAGIC then falls back to the iterative solver (its driver log says so: "Cholesky solver failed due to
# MAGIC singular covariance matrix"), and `max_iter = 1` stops that solver after a single iteration: this
# MAGIC first model is not the best least-squares fit. The cell says what happened in your run.

# COMMAND ----------

print(f"The model explains {run_1['r2']:.0%} of the variance of totalAmount in the test data.")
print(f"Its predictions are off by ${run_1['mae']:.2f} on average (MAE); RMSE is ${run_1['rmse']:.2f}.")
if run_1["iterations"] == 0:
    print("Spark solved least squares in closed form: max_iter = 1 did not limit it.")
else:
    print(f"Spark fell back to the iterative solver, which stopped after {run_1['iterations']} iteration(s).")

# COMMAND ----------

# MAGIC %md
# MAGIC The plot shows each test trip (in red) against the line of perfect predictions (in blue). The closer
# MAGIC the dots lie to the line, the better the model; dots far from it are trips the model got badly wrong.

# COMMAND ----------

display(run_1["figure"])

# COMMAND ----------

# MAGIC %md
# MAGIC Trying the model with a different set of hyperparameters is as easy as changing the inputs to the
# MAGIC function. This run uses a pure L1 penalty (`elastic_net_param = 1.0`) of strength 0.3 and allows the
# MAGIC solver 50 iterations. An L1 penalty always takes the iterative solver; if it has not converged within
# MAGIC `max_iter` iterations, the function says it was stopped by `max_iter`. Spark itself says nothing about
# MAGIC it in the notebook: the model is trained and logged either way.

# COMMAND ----------

# DBTITLE 1,Run 2: L1 penalty
# L1 penalty, regularization parameter 0.3, 50 iterations
run_2 = train_nyc_taxi(train_df, test_df, label_column, 1.0, 0.3, 50)

# COMMAND ----------

# MAGIC %md
# MAGIC How does it compare with the first run? Lower RMSE and MAE, and higher R², are better. The next cell
# MAGIC compares the two runs' metrics.

# COMMAND ----------

def compare_runs(new, old, new_name, old_name):
    for metric, better in [("rmse", "lower"), ("mae", "lower"), ("r2", "higher")]:
        change = new[metric] - old[metric]
        if change == 0:
            verdict = "the same"
        elif (change < 0) == (better == "lower"):
            verdict = "better"
        else:
            verdict = "worse"
        print(f"{metric.upper():>4}: {old_name} {old[metric]:.4f}, {new_name} {new[metric]:.4f} "
              f"({change:+.4f}: {new_name} is {verdict})")  # fmt: skip


compare_runs(run_2, run_1, "run 2", "run 1")

# COMMAND ----------

display(run_2["figure"])

# COMMAND ----------

# MAGIC %md
# MAGIC Look at the bottom-left corner of the plots, where the inexpensive rides are. If most red dots there
# MAGIC lie above the blue line, the model predicts too much for cheap rides: its predictions skew high. The
# MAGIC next cell counts, for the cheapest quarter of the test rides, how often each model predicted more than
# MAGIC the actual fare. Spark computes the quartile (`approxQuantile` with a relative error of 0, so exact)
# MAGIC and the share (the average of a true/false column cast to 0 and 1) where the data is.

# COMMAND ----------

cheap_fare = test_df.approxQuantile(label_column, [0.25], 0.0)[0]


def share_predicted_high_on_cheap_rides(result):
    cheap = result["predictions"].filter(F.col(label_column) <= cheap_fare)
    predicted_high = (F.col("prediction") > F.col(label_column)).cast("double")
    return cheap.select(F.avg(predicted_high)).first()[0]


print(f"The cheapest quarter of the test rides cost at most ${cheap_fare:.2f}")
for name, result in [("run 1", run_1), ("run 2", run_2)]:
    print(f"{name}: predicted more than the actual fare for {share_predicted_high_on_cheap_rides(result):.0%} "
          "of the cheapest quarter of rides")  # fmt: skip

# COMMAND ----------

# MAGIC %md
# MAGIC The third run mixes L1 and L2 penalties half and half (`elastic_net_param = 0.5`), with a stronger
# MAGIC penalty of 0.9 and up to 1000 iterations.

# COMMAND ----------

# DBTITLE 1,Run 3: mixed L1 and L2
# 50/50 mixed L1 and L2, regularization parameter 0.9, 1000 iterations
run_3 = train_nyc_taxi(train_df, test_df, label_column, 0.5, 0.9, 1000)

# COMMAND ----------

compare_runs(run_3, run_1, "run 3", "run 1")
compare_runs(run_3, run_2, "run 3", "run 2")
print(f"run 3: predicted more than the actual fare for {share_predicted_high_on_cheap_rides(run_3):.0%} "
      "of the cheapest quarter of rides")  # fmt: skip

# COMMAND ----------

display(run_3["figure"])

# COMMAND ----------

# MAGIC %md
# MAGIC ### How do these numbers compare with the scikit-learn notebook?
# MAGIC
# MAGIC If you ran the scikit-learn notebook with its default experiment, the next cell finds its latest
# MAGIC least-squares run and sets its metrics beside run 1's. Expect them to differ, for two reasons:
# MAGIC - **Different test trips.** `randomSplit` decides for each row on its own whether it goes to the test
# MAGIC   set, so the test set holds about 30% of the trips (the featurization cell printed how many), while
# MAGIC   scikit-learn's `train_test_split` shuffles and takes exactly 30%. With the same seed, 97, the two
# MAGIC   libraries still draw different trips. The split also depends on how Spark partitions the data, so
# MAGIC   the same seed can give other trips on another cluster or with another copy of the data.
# MAGIC - **A different solver.** scikit-learn's `LinearRegression` always computes the least-squares fit;
# MAGIC   Spark's run 1 stopped after `max_iter` iterations when the closed form failed (see above).
# MAGIC
# MAGIC The cell after it measures how much each reason weighs: it fits least squares again, this time
# MAGIC allowing 100 iterations, on this notebook's split and on two splits drawn with other seeds. These fits
# MAGIC are not logged: they answer a question about the data, not about the hyperparameters.

# COMMAND ----------

# DBTITLE 1,The scikit-learn notebook's least-squares run
sklearn_experiment = mlflow.get_experiment_by_name(default_experiment_name())
sklearn_runs = []
if sklearn_experiment is not None:
    sklearn_runs = mlflow.MlflowClient().search_runs(
        [sklearn_experiment.experiment_id], filter_string="params.reg_param = '0.0'",
        order_by=["attributes.start_time DESC"], max_results=1,
    )  # fmt: skip
if sklearn_runs:
    sklearn_metrics = sklearn_runs[0].data.metrics
    print(f"Least squares, scikit-learn notebook: R2 {sklearn_metrics['r2']:.4f}, RMSE {sklearn_metrics['rmse']:.4f}")
else:
    print(f"No least-squares run in {default_experiment_name()}: run the scikit-learn notebook to compare")
print(f"Least squares, this notebook (run 1): R2 {run_1['r2']:.4f}, RMSE {run_1['rmse']:.4f}")

# COMMAND ----------

# DBTITLE 1,Least squares to convergence, on three splits
r2_evaluator = RegressionEvaluator(labelCol=label_column, predictionCol="prediction", metricName="r2")
for seed in [97, 1, 2]:
    seed_train, seed_test = trips_clean.randomSplit([0.7, 0.3], seed=seed)
    seed_featurizer = featurizer.fit(seed_train)
    least_squares = LinearRegression(featuresCol="features", labelCol=label_column, maxIter=100)
    least_squares_model = least_squares.fit(seed_featurizer.transform(seed_train))
    seed_r2 = r2_evaluator.evaluate(least_squares_model.transform(seed_featurizer.transform(seed_test)))
    print(f"seed {seed:>2}: {seed_test.count():,} test trips, R2 {seed_r2:.4f} "
          f"after {least_squares_model.summary.totalIterations} iterations")  # fmt: skip

# COMMAND ----------

# MAGIC %md
# MAGIC With the same model and the same data, R² moves with the test trips a split happens to draw: a few
# MAGIC trips with very high fares that the model gets badly wrong weigh heavily in a test set of a few
# MAGIC thousand trips. That is why the runs of one experiment share one split, as here, and why numbers from
# MAGIC two different splits, like those of the two notebooks, compare only roughly. The libraries themselves
# MAGIC agree: fitted on the same training trips, scikit-learn's `LinearRegression` and Spark's least squares
# MAGIC run to convergence make practically the same predictions (checked on this notebook's split with Spark
# MAGIC 4.0: the same RMSE, MAE and R² to four decimals).

# COMMAND ----------

# MAGIC %md
# MAGIC This information is now stored in the MLflow tracking server. Next, you will work with it in two ways:
# MAGIC by reviewing the experiment in the user interface, and by using MLflow from code.
# MAGIC
# MAGIC ## Reviewing experiment metrics
# MAGIC
# MAGIC ### View the experiment, runs, and run details in the Databricks UI
# MAGIC
# MAGIC 1. Select the **Experiment** icon (a flask) in the notebook's right-hand side panel. The panel lists the
# MAGIC    runs of the experiment this notebook logged to, with their parameters and metrics. Compare the three
# MAGIC    runs: which has the lowest RMSE?
# MAGIC 1. Select a run's name to open its **run details page**. It shows the parameters and metrics, the tags
# MAGIC    (you can set tags with `mlflow.set_tags()`, or add them in the UI afterwards) and the **artifacts**,
# MAGIC    among them `LinearRegressionPrediction.png`. Select the PNG to see the plot; it stays with the run even
# MAGIC    after you clear this notebook's results. The model is there too, as the `model` folder of the
# MAGIC    artifacts: a model of the `spark` flavor, whose `sparkml` folder is the `PipelineModel` as Spark saves
# MAGIC    it. `mlflow.spark` logs a model among the run's artifacts with MLflow 2 and MLflow 3 alike (with
# MAGIC    MLflow 3, the scikit-learn notebook's models appear under **Logged models** instead).
# MAGIC 1. In the experiment page (open it from the side panel), select the three runs and choose **Compare** to
# MAGIC    see their parameters and metrics side by side.
# MAGIC
# MAGIC #### Reproducing a run
# MAGIC Reproducibility builds confidence that a model in production really is the model you expect. On a run's
# MAGIC details page, **Reproduce run** (where your workspace offers it) clones the notebook at the version that
# MAGIC made the run and recreates its cluster settings, so you can run it again.
# MAGIC
# MAGIC **Running locally?** The same views are in the MLflow UI of the local tracking server: run
# MAGIC `python scripts/run_lab.py --keep-server` and open the experiment URL it prints (the lab guide,
# MAGIC `docs/lab-guide.md`, shows where to click). The next cell prints the experiment's URL when the tracking
# MAGIC server is reached over HTTP, as the local one is.

# COMMAND ----------

tracking_uri = mlflow.get_tracking_uri()
if tracking_uri.startswith("http"):
    print(f"Experiment page: {tracking_uri}/#/experiments/{experiment.experiment_id}")
else:
    print(f"Tracking server: {tracking_uri}; open the experiment from the notebook's Experiment side panel")

# COMMAND ----------

# MAGIC %md
# MAGIC ### View the experiment, runs, and run details programmatically
# MAGIC
# MAGIC You can also get experiment details from code, with an `MlflowClient`.

# COMMAND ----------

from mlflow.tracking import MlflowClient

client = MlflowClient()

print("Loaded MLflow Client")

# COMMAND ----------

# MAGIC %md
# MAGIC Next, list the experiments you can see, ordered by their `last_update_time`, latest first (at most ten
# MAGIC here). Despite its name, that time does not change when runs are logged: MLflow's tracking server sets
# MAGIC it when an experiment is created and changes it only when the experiment is renamed, deleted or
# MAGIC restored. So the order is not the order in which you last used the experiments.

# COMMAND ----------

# DBTITLE 1,List experiments
experiments = client.search_experiments(order_by=["last_update_time DESC"], max_results=10)
for listed in experiments:
    print(f"{listed.experiment_id:>20}  {listed.name}")

# COMMAND ----------

# MAGIC %md
# MAGIC Pick this lab's experiment by its name rather than by its position in the list: positions change as
# MAGIC experiments are created, renamed and deleted. `search_experiments` takes a filter, just as `search_runs`
# MAGIC does. Then `mlflow.search_runs` returns the experiment's runs as a pandas DataFrame, one row a run, with
# MAGIC the logged metrics (`metrics.*`), parameters (`params.*`) and tags (`tags.*`).

# COMMAND ----------

# DBTITLE 1,Runs of this lab's experiment
# The name as the tracking server stored it (a workspace drops a /Workspace prefix), quoted with the kind of
# quote it does not contain: a ' inside '...' would end the filter's string early.
stored_name = experiment.name
quote = '"' if "'" in stored_name else "'"
[lab_experiment] = client.search_experiments(filter_string=f"name = {quote}{stored_name}{quote}")
experiment_id = lab_experiment.experiment_id
runs_df = mlflow.search_runs([experiment_id])

display(runs_df)

# COMMAND ----------

# MAGIC %md
# MAGIC The table holds everything about each run, which makes it easy to analyse an experiment further.
# MAGIC
# MAGIC Next, retrieve the last run in this experiment, ordered by start time. `data.metrics` holds its metrics,
# MAGIC one key-value pair each.

# COMMAND ----------

# DBTITLE 1,Latest run's metrics
runs = client.search_runs([experiment_id], order_by=["attributes.start_time DESC"], max_results=1)
last_run = runs[0]
last_run.data.metrics

# COMMAND ----------

# MAGIC %md
# MAGIC The latest run is not necessarily the best one. Ordering the runs by a metric finds the best: the
# MAGIC lowest RMSE first.

# COMMAND ----------

# DBTITLE 1,Best run by RMSE
best_run = client.search_runs([experiment_id], order_by=["metrics.rmse ASC"], max_results=1)[0]
best_params = ", ".join(f"{name}={value}" for name, value in sorted(best_run.data.params.items()))
print(f"Lowest RMSE: {best_run.data.metrics['rmse']:.4f}, run {best_run.info.run_id} ({best_params})")
if best_run.info.run_id == last_run.info.run_id:
    print("The latest run is also the best one.")
else:
    print(f"The latest run, {last_run.info.run_id}, is not the best one: its RMSE is "
          f"{last_run.data.metrics['rmse']:.4f}.")  # fmt: skip

# COMMAND ----------

# MAGIC %md
# MAGIC You can also load the model a run logged and use it. `runs:/<run_id>/model` names the model that the run
# MAGIC logged as `model`; `info.run_id` is the run's unique id. `mlflow.spark.load_model` gives back the
# MAGIC Spark `PipelineModel`, featurization included, so it takes the columns of `test_df` as they are.
# MAGIC Predict the fares of three test trips with the latest run's model:

# COMMAND ----------

# DBTITLE 1,Load the model and predict
# mlflow.spark logs at INFO level where it copies the model from and to (URI ... does not point to the current
# DFS, ... not found on DFS, will attempt to upload); keep its warnings only.
logging.getLogger("mlflow.spark").setLevel(logging.WARNING)
loaded_model = mlflow.spark.load_model(f"runs:/{last_run.info.run_id}/model")
top_rows = test_df.limit(3)
display(loaded_model.transform(top_rows).select(*feature_columns, label_column, "prediction"))

# COMMAND ----------

# MAGIC %md
# MAGIC ## Clean-up
# MAGIC
# MAGIC The runs stay in the experiment for the next exercises. When you are done with the course, delete the
# MAGIC experiment from the **Experiments** page, and terminate your cluster on the **Compute** page if you
# MAGIC started one for this lab.

# COMMAND ----------

# DBTITLE 1,Return a summary to the job
# When a job runs this notebook (deploy.py run --runtime, the bundle's lab_matrix job), this summary is the
# task's output: the library versions of this runtime and the three runs above with their metrics.
dbutils.notebook.exit(lab_summary([run_1["run_id"], run_2["run_id"], run_3["run_id"]]))
